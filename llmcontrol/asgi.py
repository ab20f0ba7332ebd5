import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "llmcontrol.settings")

django_application = get_asgi_application()

from llmcontrol.checks import require_secret_key  # noqa: E402 - after Django is set up

require_secret_key()

# After Django is set up: the gateway's paths skip the middleware stack (see there why).
from llmcontrol.chunked import with_content_length  # noqa: E402
from llmcontrol.gateway.asgi import with_gateway  # noqa: E402

application = with_gateway(with_content_length(django_application))

# Everything loaded so far lives as long as the process: keep it out of the cyclic
# garbage collector's scans, which otherwise walk the whole of Django on every full
# collection (under gateway load: several a second, each pausing the event loop).
gc.collect()
gc.freeze()
