"""Words printed on letters that depend on data: exposure labels, civilities, countries (French first)."""

from __future__ import annotations

from dataclasses import dataclass

from patients.categories import Exposure

# Never a condition: the medical comment is only ever "a comment related to your health".
EXPOSURE_LABELS = {
    "fr": {
        Exposure.IDENTITY: "votre identité (nom, prénom, civilité)",
        Exposure.BIRTH_DATE: "votre date de naissance",
        Exposure.NIR: "votre numéro de sécurité sociale",
        Exposure.POSTAL_ADDRESS: "votre adresse postale",
        Exposure.EMAIL: "votre adresse électronique",
        Exposure.PHONE: "votre numéro de téléphone",
        Exposure.BLOOD_GROUP: "votre groupe sanguin",
        Exposure.PRESCRIBER: "le nom de votre médecin prescripteur",
        Exposure.INSURER: "votre caisse d'assurance maladie ou votre mutuelle",
        Exposure.MEDICAL_COMMENT: "un commentaire lié à votre santé",
        Exposure.PORTAL_PASSWORD: "le mot de passe de votre compte sur le portail de résultats",
        Exposure.OTHER_ADMIN: "d'autres données administratives",
    },
    "en": {
        Exposure.IDENTITY: "your identity (surname, first name, title)",
        Exposure.BIRTH_DATE: "your date of birth",
        Exposure.NIR: "your social security number",
        Exposure.POSTAL_ADDRESS: "your postal address",
        Exposure.EMAIL: "your email address",
        Exposure.PHONE: "your phone number",
        Exposure.BLOOD_GROUP: "your blood group",
        Exposure.PRESCRIBER: "the name of your prescribing doctor",
        Exposure.INSURER: "your health insurance fund or complementary insurer",
        Exposure.MEDICAL_COMMENT: "a comment related to your health",
        Exposure.PORTAL_PASSWORD: "the password of your results-portal account",
        Exposure.OTHER_ADMIN: "other administrative data",
    },
}

# For a minor the letter speaks to the parents about their child ("son", "sa", "your child's"). No "health
# comment" line: see `exposure_shown`.
MINOR_LABELS_FR = {
    Exposure.IDENTITY: "son identité (nom, prénom, civilité)",
    Exposure.BIRTH_DATE: "sa date de naissance",
    Exposure.NIR: "son numéro de sécurité sociale",
    Exposure.POSTAL_ADDRESS: "son adresse postale",
    Exposure.EMAIL: "son adresse électronique",
    Exposure.PHONE: "son numéro de téléphone",
    Exposure.BLOOD_GROUP: "son groupe sanguin",
    Exposure.PRESCRIBER: "le nom de son médecin prescripteur",
    Exposure.INSURER: "sa caisse d'assurance maladie ou sa mutuelle",
    Exposure.PORTAL_PASSWORD: "le mot de passe de son compte sur le portail de résultats",
    Exposure.OTHER_ADMIN: "d'autres données administratives",
}

CIVILITIES = {
    "mme": "Mme",
    "madame": "Mme",
    "mlle": "Mme",
    "mademoiselle": "Mme",
    "m": "M.",
    "m.": "M.",
    "mr": "M.",
    "monsieur": "M.",
}

COUNTRIES = {
    "BE": "BELGIQUE",
    "CH": "SUISSE",
    "DE": "ALLEMAGNE",
    "ES": "ESPAGNE",
    "GB": "ROYAUME-UNI",
    "IT": "ITALIE",
    "LU": "LUXEMBOURG",
    "MC": "MONACO",
    "PT": "PORTUGAL",
    "NL": "PAYS-BAS",
}


def exposure_shown(mask: int, *, minor: bool) -> int:
    """The exposure categories a letter or status page may show: a minor's never include the health comment.

    A guardian's letter and page are read by the parents, from whom a minor may keep some care secret (Code
    de la santé publique, art. L.1111-5): whether the child's file held a health remark must not show, so
    every minor reads alike on that point.
    """
    return mask & ~int(Exposure.MEDICAL_COMMENT) if minor else mask


def exposure_labels(mask: int, language: str, *, minor: bool = False) -> list[str]:
    labels = EXPOSURE_LABELS[language]
    mask = exposure_shown(mask, minor=minor)
    out = []
    for flag in Exposure:
        if mask & flag:
            if minor and language == "fr":
                out.append(MINOR_LABELS_FR[flag])
            elif minor:
                out.append(labels[flag].replace("your ", "your child's ", 1))
            else:
                out.append(labels[flag])
    return out


def civility(value: str) -> str:
    """A postal civility ('Mme', 'M.') or '' for anything else ('enfant', 'bébé', unknown)."""
    return CIVILITIES.get(value.strip().lower().rstrip("."), "") if value else ""


def country_line(code: str) -> str:
    """Last address line for mail abroad (La Poste: country name in capitals); '' for France."""
    code = (code or "FR").upper()
    if code == "FR":
        return ""
    return COUNTRIES.get(code, code)


# --- "What you can do" (Art. 34(2)'s measures for the person): ONE list for the letter, the status page and the
# call-centre kit, from the regulator's advice to this leak's victims (shared/LEGAL.md). The status page shows
# "the same message" the letter promises; the agents read the patient the same words.
@dataclass(frozen=True)
class AdviceItem:
    strong: str  # printed in bold, first (may be empty)
    text: str

    def __str__(self) -> str:
        return f"{self.strong}{self.text}"


_ADVICE = {
    "fr": {
        "phishing": AdviceItem(
            "",
            "Méfiez-vous des appels, courriels et SMS qui citent vos données, même s'ils semblent venir de votre "
            "médecin, du laboratoire ou de l'Assurance Maladie\u00a0: n'ouvrez pas les pièces jointes, ne cliquez pas, "
            "ne répondez pas.",
        ),
        "never_asks": AdviceItem(
            "",
            "Le laboratoire ne vous demandera jamais votre numéro de sécurité sociale, un mot de passe ou un paiement.",
        ),
        "accounts": AdviceItem(
            "",
            "Surveillez votre compte ameli et celui de votre mutuelle\u00a0; activez la double authentification quand "
            "c'est possible.",
        ),
        "password": AdviceItem(
            "Changez dès maintenant le mot de passe de {whose} compte sur le portail de résultats",
            ", et partout où vous utilisez le même.",
        ),
        "password_if": AdviceItem(
            "",
            "Si le mot de passe du compte sur le portail de résultats figure dans la fuite\u00a0: changez-le dès "
            "maintenant, et partout où le même est utilisé.",
        ),
        "fraud": AdviceItem(
            "",
            "En cas de fraude\u00a0: faites-vous aider sur cybermalveillance.gouv.fr et portez plainte auprès de la "
            "police ou de la gendarmerie.",
        ),
        "cnil": AdviceItem("", "Vous pouvez adresser une réclamation à la CNIL (www.cnil.fr)."),
    },
    "en": {
        "phishing": AdviceItem(
            "",
            "Be wary of calls, emails and text messages quoting your data, even if they seem to come from your "
            "doctor, the laboratory or the health insurance: do not open attachments, do not click, do not reply.",
        ),
        "never_asks": AdviceItem(
            "", "The laboratory will never ask you for your social security number, a password or a payment."
        ),
        "accounts": AdviceItem(
            "",
            "Watch your ameli account and your complementary insurer's account; turn on two-factor authentication "
            "where you can.",
        ),
        "password": AdviceItem(
            "Change the password of {whose} results-portal account now", ", and anywhere else the same one is used."
        ),
        "password_if": AdviceItem(
            "",
            "If the results-portal password is in the leak: change it now, and anywhere else the same one is used.",
        ),
        "fraud": AdviceItem(
            "", "If you suffer fraud: get help at cybermalveillance.gouv.fr and report it to the police."
        ),
        "cnil": AdviceItem("", "You have the right to complain to the CNIL (www.cnil.fr)."),
    },
}


def advice(language: str, *, mask: int | None, minor: bool = False) -> tuple[AdviceItem, ...]:
    """What the person can do. `mask` is the person's exposures; None (the call-centre kit, every patient) gives
    the password step as a condition."""
    items = _ADVICE[language]
    password: AdviceItem | None
    if mask is None:
        password = items["password_if"]
    elif mask & Exposure.PORTAL_PASSWORD:
        whose = {"fr": ("son", "votre"), "en": ("your child's", "your")}[language][0 if minor else 1]
        password = AdviceItem(items["password"].strong.format(whose=whose), items["password"].text)
    else:
        password = None
    chosen = [items["phishing"], items["never_asks"], items["accounts"], password, items["fraud"], items["cnil"]]
    return tuple(item for item in chosen if item is not None)
