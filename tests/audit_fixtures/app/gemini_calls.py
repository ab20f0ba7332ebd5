from google import genai

client = genai.Client()


def label_images(images):
    return client.models.generate_content(model="gemini-2.0-flash", contents=images)


def write_release_notes(changes):
    parts = []
    for chunk in client.models.generate_content_stream(model="gemini-1.5-pro", contents=changes):
        parts.append(chunk.text)
    return "".join(parts)
