from llmcontrol.client import get_llm_client, get_security_client


def classify_priority(system_prompt, user_prompt):
    return get_llm_client(purpose="classification").complete(system_prompt, user_prompt)


def audit_permissions(system_prompt, user_prompt):
    client = get_security_client()
    yield from client.stream(system_prompt, user_prompt)
