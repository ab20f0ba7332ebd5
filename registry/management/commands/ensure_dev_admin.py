import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create a development superuser if none exists: from DJANGO_SUPERUSER_USERNAME/"
        "_PASSWORD/_EMAIL, or 'admin' with a random password printed once."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write("a superuser exists already; log in with it")
            return
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME") or "admin"
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        generated = not password
        password = password or secrets.token_urlsafe(12)
        email = os.environ.get("DJANGO_SUPERUSER_EMAIL", "")
        User.objects.create_superuser(username=username, email=email, password=password)
        if generated:
            self.stdout.write(self.style.SUCCESS(
                f"\n  Admin user created. Log in at http://127.0.0.1:8000/admin/ with\n"
                f"    username: {username}\n    password: {password}\n"
                f"  (shown only this once; `manage.py changepassword {username}` resets it)\n"
            ))
        else:
            self.stdout.write(f"admin user {username!r} created from DJANGO_SUPERUSER_*")
