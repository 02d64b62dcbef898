"""The FAQ's questions and answers and the call script's steps, worded from a `Kit` (French and English).

Plain data for the HTML page and the PDF alike: a test changes a measure and reads it here and in both.
"""

from __future__ import annotations

from dataclasses import dataclass

from .kit import Kit


@dataclass(frozen=True)
class Entry:
    question: str
    answer: tuple[str, ...]  # paragraphs or list items


@dataclass(frozen=True)
class Step:
    title: str
    say: tuple[str, ...]  # what the agent says or does
    escalation: bool = False


def _contact(kit: Kit) -> str:
    parts = [kit.dpo_name, kit.dpo_email, kit.dpo_phone]
    return ", ".join(part for part in parts if part)


def faq_entries(kit: Kit) -> list[Entry]:
    """The agents' FAQ, in the kit's language."""
    none_fr, none_en = "(à compléter dans le dossier art. 33)", "(to be completed in the Art. 33 case file)"
    if kit.language == "en":
        return [
            Entry("What happened?", tuple(p for p in (kit.breach_title, kit.what_happened) if p) or (none_en,)),
            Entry(
                "When, and who held the data?",
                (
                    f"Period of the leaked records: {kit.period or 'unknown'}.",
                    f"Processor holding the file: {kit.processor or 'unknown'}.",
                ),
            ),  # fmt: skip
            Entry("Which data were taken?", kit.data or (none_en,)),
            Entry("What are the risks?", kit.risks or (none_en,)),
            Entry("What has the laboratory done?", kit.measures or (none_en,)),
            Entry("What should the caller do?", kit.advice),
            Entry(
                "How can the caller check their notice is genuine?",
                (f"On {kit.status_url} with the code printed on their letter and their date of birth.",),
            ),
            Entry("Who is the contact for data protection?", (_contact(kit) or none_en,)),
        ]
    return [
        Entry("Que s'est-il passé ?", tuple(p for p in (kit.breach_title, kit.what_happened) if p) or (none_fr,)),
        Entry(
            "Quand, et qui détenait les données ?",
            (
                f"Période des enregistrements fuités : {kit.period or 'non connue'}.",
                f"Sous-traitant qui détenait le fichier : {kit.processor or 'non connu'}.",
            ),
        ),  # fmt: skip
        Entry("Quelles données ont été prises ?", kit.data or (none_fr,)),
        Entry("Quels sont les risques ?", kit.risks or (none_fr,)),
        Entry("Qu'a fait le laboratoire ?", kit.measures or (none_fr,)),
        Entry("Que doit faire l'appelant ?", kit.advice),
        Entry(
            "Comment l'appelant vérifie-t-il que son avis est authentique ?",
            (f"Sur {kit.status_url}, avec le code imprimé sur sa lettre et sa date de naissance.",),
        ),
        Entry("Qui contacter pour la protection des données ?", (_contact(kit) or none_fr,)),
    ]


def script_steps(kit: Kit) -> list[Step]:
    """The call script with its escalation paths, in the kit's language."""
    press = kit.communication_contact
    if kit.language == "en":
        return [
            Step("Greeting", (f"“{kit.laboratory}, information line about the data leak. How can I help you?”",)),
            Step(
                "Opening the caller's notice",
                (
                    "Ask for the reference printed on the letter and the date of birth; type them in the form.",
                    "Never search by name, never read out a list. After a failure, ask them to read the reference "
                    "again; do not say what was wrong.",
                ),
            ),  # fmt: skip
            Step("Answering", ("Answer from the FAQ: what happened, which data, risks, measures, what to do.",)),
            Step(
                "A question about a health remark → the DPO",
                (
                    "“I cannot discuss your health by phone. The data protection officer answers a right-of-access "
                    "request in writing, after checking your identity, within one month.”",
                    f"The caller makes the request on {kit.status_url} (after entering their code) or writes to "
                    f"{kit.dpo_email or 'the DPO'}.",
                ),
                escalation=True,
            ),  # fmt: skip
            Step(
                "A journalist → the communication contact",
                (
                    "“I am not able to answer the press. Please contact:”",
                    press or "the laboratory's communication contact (not yet recorded: ask the DPO).",
                ),
                escalation=True,
            ),  # fmt: skip
            Step(
                "A distressed caller",
                (
                    "Let them speak; say that their feelings are understandable and that the laboratory is sorry.",
                    "Give concrete steps: the advice in the FAQ, no payment or password will ever be asked.",
                    "If they mention a risk to their life, give 3114 (national suicide prevention line, free, 24/7) "
                    "or 15 in an emergency.",
                ),
                escalation=True,
            ),  # fmt: skip
            Step("Closing", ("Sum up what was said, give the DPO's contact, thank the caller.",)),
        ]
    return [
        Step(
            "Accueil", (f"« {kit.laboratory}, ligne d'information sur la fuite de données. Que puis-je pour vous ? »",)
        ),
        Step(
            "Ouvrir l'avis de l'appelant",
            (
                "Demandez la référence imprimée sur la lettre et la date de naissance ; saisissez-les dans le formulaire.",
                "Jamais de recherche par nom, jamais de liste lue à voix haute. Après un échec, faites relire la "
                "référence ; ne dites pas ce qui n'allait pas.",
            ),
        ),  # fmt: skip
        Step(
            "Répondre",
            ("Répondez avec la FAQ : ce qui s'est passé, les données, les risques, les mesures, que faire.",),
        ),
        Step(
            "Une question sur une remarque de santé → le DPO",
            (
                "« Je ne peux pas parler de votre santé par téléphone. Le délégué à la protection des données répond "
                "par écrit à une demande d'accès, après vérification de votre identité, dans un délai d'un mois. »",
                f"L'appelant fait la demande sur {kit.status_url} (après avoir saisi son code) ou écrit à "
                f"{kit.dpo_email or 'au DPO'}.",
            ),
            escalation=True,
        ),  # fmt: skip
        Step(
            "Un journaliste → le contact communication",
            (
                "« Je ne suis pas en mesure de répondre à la presse. Adressez-vous à : »",
                press or "le contact communication du laboratoire (pas encore renseigné : demandez au DPO).",
            ),
            escalation=True,
        ),  # fmt: skip
        Step(
            "Un appelant en détresse",
            (
                "Laissez-le parler ; dites que son inquiétude est compréhensible et que le laboratoire le regrette.",
                "Donnez des gestes concrets : les conseils de la FAQ ; on ne lui demandera jamais de paiement ni de "
                "mot de passe.",
                "S'il évoque un risque pour sa vie : le 3114 (prévention du suicide, gratuit, 24 h/24) ou le 15 en "
                "cas d'urgence.",
            ),
            escalation=True,
        ),  # fmt: skip
        Step("Conclure", ("Résumez, donnez le contact du DPO, remerciez l'appelant.",)),
    ]
