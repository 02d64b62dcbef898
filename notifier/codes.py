"""Status codes and verification phrases: derived, never stored.

Choice: **derive** each code from a dedicated secret rather than store it encrypted. The code is
HMAC-SHA256(STATUS_CODE_SECRET, "status-code:v2:<breach id>:<patient id>") cut to 80 bits, so the
letter, the email and any reprint (months later, another process) compute the same code without the
database ever holding it, in clear or encrypted; a database dump alone yields neither codes nor a key.
A patient row belongs to one breach and one laboratory (patients.Patient), so the code is one per
patient and breach: the same on the first campaign, a follow-up and every reprint, and a patient told
twice never holds two codes (v1 derived from the campaign and gave a new code to each campaign).
The database keeps only `status_code_digest(code)`, a second keyed hash, for lookup by the status page.
The price: rotating STATUS_CODE_SECRET changes every code, so it is set once per deployment and kept.

Format: 80 bits as 16 Crockford base32 characters in four groups of four ("7KQ2-M9XD-…"): no I, L, O,
U; typing is forgiving (case, spaces, hyphens, O→0, I/L→1 are normalised).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from patients.models import Patient

    from .models import Campaign

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_BITS = 80
CODE_LENGTH = CODE_BITS // 5  # 16 characters
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = str.maketrans("", "", " -_.\t\u00a0")

# Short, common, unambiguous French words (no homophones of one another, easy to read aloud).
PHRASE_WORDS = (
    "abeille", "abricot", "acier", "aigle", "ancre", "arbre", "argent", "armoire", "avion", "balcon",
    "baleine", "bateau", "berger", "biscuit", "bougie", "bouton", "brioche", "cabane", "cactus", "camion",
    "canard", "carotte", "castor", "cerise", "chameau", "chapeau", "chemin", "cheval", "citron", "colline",
    "comète", "corbeau", "coton", "crayon", "dauphin", "domino", "dragon", "écharpe", "épice", "étoile",
    "falaise", "fenêtre", "feuille", "flocon", "fontaine", "fourmi", "fraise", "fromage", "galet", "girafe",
    "glacier", "grenier", "guitare", "hibou", "horloge", "îlot", "jardin", "jasmin", "jonquille", "kayak",
    "lampe", "lapin", "laurier", "lavande", "lézard", "licorne", "lion", "loutre", "lumière", "marmotte",
    "marron", "miroir", "moulin", "mouton", "muguet", "nuage", "olive", "orange", "orchidée", "ours",
    "palmier", "panier", "papillon", "pêche", "pelouse", "phare", "piano", "pinceau", "plume", "poire",
    "pomme", "prairie", "radis", "raisin", "renard", "rivière", "rocher", "rose", "ruisseau", "sable",
    "sapin", "saumon", "sentier", "soleil", "tambour", "tigre", "tomate", "tortue", "tulipe", "valise",
    "vallée", "velours", "violon", "voilier", "volcan", "wagon", "zèbre", "ballon", "bambou", "cerf",
    "colibri", "dune", "érable", "forêt", "grotte", "hamac", "igloo", "iris",
)  # fmt: skip


def _key() -> bytes:
    return settings.STATUS_CODE_SECRET.encode()


def _derive(purpose: str, breach_id: int, patient_id: int) -> bytes:
    message = f"{purpose}:v2:{breach_id}:{patient_id}".encode()
    return hmac.new(_key(), message, hashlib.sha256).digest()


def _breach_id(patient: Patient, campaign: Campaign | None) -> int:
    """The patient's breach, checked against the campaign's when one is given (a mismatch is a bug)."""
    if campaign is not None and campaign.breach_id != patient.breach_id:
        raise ValueError(
            f"Le patient {patient.pk} n'appartient pas à la violation de la campagne {campaign.pk} / "
            "patient and campaign of different breaches"
        )
    return patient.breach_id


def _base32(data: bytes, length: int) -> str:
    number = int.from_bytes(data, "big")
    chars = []
    for _ in range(length):
        chars.append(CROCKFORD[number & 31])
        number >>= 5
    return "".join(reversed(chars))


def status_code_for_ids(*, breach_id: int, patient_id: int) -> str:
    """The code for ids (bulk launch computes it without loading model instances)."""
    raw = _base32(_derive("status-code", breach_id, patient_id)[: CODE_BITS // 8], CODE_LENGTH)
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


_RFC4648_TO_CROCKFORD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", CROCKFORD.encode())


def status_code_digests_for(*, breach_id: int, patient_ids: list[int]) -> list[str]:
    """`status_code_digest(status_code_for_ids(...))` for many patients at once (the launch's hot loop).

    Same bits, same alphabet, same digest as the one-by-one functions (a test holds them equal), with
    the base32 done in C and the normalisation skipped (a derived code is already normal).
    """
    key = _key()
    prefix = f"status-code:v2:{breach_id}:".encode()
    digest_prefix = b"status-code-digest:v1:"
    new, sha256, b32encode = hmac.new, hashlib.sha256, base64.b32encode
    digests = []
    for patient_id in patient_ids:
        raw = new(key, prefix + str(patient_id).encode(), sha256).digest()[:10]
        code = b32encode(raw).translate(_RFC4648_TO_CROCKFORD)
        digests.append(new(key, digest_prefix + code, sha256).hexdigest())
    return digests


def status_code_for(*, patient: Patient, campaign: Campaign | None = None) -> str:
    """The patient's status code for their breach: same on every campaign, letter, email and reprint.

    `campaign`, when given, is only checked to be of the patient's breach."""
    return status_code_for_ids(breach_id=_breach_id(patient, campaign), patient_id=patient.pk)


def normalise_status_code(code: str) -> str:
    """Upper-case, separators removed, Crockford look-alikes mapped (O→0, I/L→1); '' when not a code."""
    cleaned = (code or "").upper().translate(_SEPARATORS).translate(_LOOKALIKES)
    if len(cleaned) != CODE_LENGTH or any(ch not in CROCKFORD for ch in cleaned):
        return ""
    return cleaned


def status_code_digest(code: str) -> str:
    """Keyed hash of a code as typed by a person (normalised first): what the database stores and looks up.

    Input that cannot be a code still gets a digest (of a marker no code normalises to), so callers
    need no special case and a lookup simply finds nothing.
    """
    normalised = normalise_status_code(code) or "invalid:" + (code or "")[:64]
    return hmac.new(_key(), b"status-code-digest:v1:" + normalised.encode(), hashlib.sha256).hexdigest()


def verification_phrase_for_ids(*, breach_id: int, patient_id: int) -> str:
    digest = _derive("phrase", breach_id, patient_id)
    size = len(PHRASE_WORDS)
    return " ".join(PHRASE_WORDS[int.from_bytes(digest[i * 2 : i * 2 + 2], "big") % size] for i in range(3))


def verification_phrase_for(*, patient: Patient, campaign: Campaign | None = None) -> str:
    """Three common French words printed on the letter and in the email, so a patient can tell a genuine notice.

    Not a secret for authentication (the code is): a forger who never saw the letter cannot guess it.
    """
    return verification_phrase_for_ids(breach_id=_breach_id(patient, campaign), patient_id=patient.pk)
