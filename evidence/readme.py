"""README.txt of an evidence pack, in French: what it holds, for whom, how to check it."""

from __future__ import annotations

from django.utils import timezone

from labs.deadlines import format_paris

from .archive import MANIFEST_JSON, MANIFEST_SHA256, README, Entry
from .contents import PackSource
from .models import EvidencePack

LIAISON_NOTE = """\
Cette version est celle de la liaison CNIL : elle ne contient aucune donnée de patient (ni nom, ni adresse,
ni téléphone, ni courriel, ni NIR, ni référence de lettre). Les envois et les retours de courrier y sont des
comptes ; tout effectif inférieur à 10 est écrit « < 10 ». L'historique des campagnes ne garde que qui a fait
quoi et quand ; le journal d'audit y est résumé en nombre d'événements par action."""

DPO_NOTE = """\
Cette version est celle du DPO du laboratoire. Elle contient, en plus des pièces communes, la liste des
courriers revenus par référence de lettre et le journal d'audit ligne à ligne : elle est réservée au
laboratoire et ne se transmet pas telle quelle. La version destinée à la liaison CNIL ne contient aucune
donnée de patient. Aucune version ne contient le commentaire médical du fichier fuité (jamais conservé)."""


def readme_text(*, pack: EvidencePack, source: PackSource, entries: list[Entry]) -> str:
    cf = pack.case_file
    liaison = pack.kind == EvidencePack.Kind.LIAISON
    lines = [
        "DOSSIER DE PREUVES — VIOLATION DE DONNÉES PERSONNELLES (RGPD, art. 33 et 34)",
        "",
        f"Violation : {cf.breach.title} ({cf.breach.slug})",
        f"Laboratoire (responsable du traitement) : {cf.laboratory.name} ({cf.laboratory.code})",
        f"Version : {pack.get_kind_display()}",
        f"Préparé le : {format_paris(timezone.now())}, dossier n°{pack.pk}",
        "",
        LIAISON_NOTE if liaison else DPO_NOTE,
        "",
        "CONTENU",
        "",
    ]
    lines += [f"- {entry.path} : {entry.description}" for entry in entries]
    lines += [
        f"- {README} : ce fichier",
        f"- {MANIFEST_JSON} : la liste des fichiers avec leur taille, leur empreinte SHA-256 et leur description",
        f"- {MANIFEST_SHA256} : les empreintes SHA-256 de tous les fichiers, au format de la commande sha256sum",
        "",
    ]
    if source.missing:
        lines += ["ÉLÉMENTS ABSENTS OU À SIGNALER", ""] + [f"- {text}" for text in source.missing] + [""]
    lines += [
        "VÉRIFIER LE DOSSIER",
        "",
        "Décompressez le zip, puis, dans le dossier obtenu :",
        f"    sha256sum -c {MANIFEST_SHA256}",
        "Chaque fichier doit être annoncé « OK ». L'empreinte SHA-256 du zip lui-même est affichée sur la page",
        "« Dossiers de preuves » de notifier et conservée avec le dossier.",
        "",
        "Les dates sont à l'heure de Paris, avec leur décalage UTC. Les fichiers CSV sont en UTF-8, séparés par",
        "des points-virgules.",
        "",
    ]
    return "\n".join(lines)
