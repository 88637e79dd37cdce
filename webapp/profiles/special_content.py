"""Copernica's "special content" of a text field, and the field type it means here.

Copernica marks a text field as holding e-mail addresses or phone numbers with ``specialcontent``; we have
field types for those (``email``, ``phone``) that validate every value. So a special content is a type:
``specialcontent=email`` on a new text field makes an email field, and a field's type tells its special
content back. A special content on a type that cannot hold it is refused, not dropped.
"""

from flask_babel import gettext as _

from webapp.platform.errors import ValidationError

# Copernica's special contents (and the spellings of its REST field types) → our field type.
SPECIAL_CONTENTS = {
    "email": "email",
    "phone": "phone",
    "fax": "phone",
    "mobile": "phone",
    "gsm": "phone",
    "sms": "phone",
    "phone_fax": "phone",
    "phone_gsm": "phone",
}
# Field types that a special content may refine (text is what Copernica's special contents live on).
REFINABLE = {"text", "email", "phone"}


def type_with_special_content(field_type: str, special_content: str | None) -> str:
    """The field type for ``field_type`` with Copernica's ``special_content`` (none or empty: unchanged)."""
    key = (special_content or "").strip().lower()
    if not key:
        return field_type
    ours = SPECIAL_CONTENTS.get(key)
    if ours is None:
        known = ", ".join(sorted(SPECIAL_CONTENTS))
        raise ValidationError(
            {"specialcontent": _("Unknown special content %(name)s; use one of %(known)s.", name=key, known=known)}
        )
    if field_type not in REFINABLE:
        raise ValidationError(
            {"specialcontent": _("A %(type)s field cannot hold special content %(name)s.", type=field_type, name=key)}
        )
    return ours


def special_content_of(field_type: str) -> str:
    """The special content a field of ``field_type`` reports (``""`` for none)."""
    return field_type if field_type in ("email", "phone") else ""
