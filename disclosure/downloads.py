"""HTTP helpers for file downloads with Chinese names."""

from urllib.parse import quote

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def disposition(attachment: bool, name: str, ascii_name: str) -> str:
    """RFC 6266/5987: an ASCII name for old clients, the Chinese one for the rest."""
    kind = "attachment" if attachment else "inline"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
