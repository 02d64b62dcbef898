"""The Art. 34(3)(c) public communication becomes rows of its own (text, support, link, frozen figures; several
per case file). Each case file's former three fields (support, date, link) become one row, then go."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


# Words of the former free-text "support" that name a medium; anything else is "autre", the text kept as précision.
MEDIUM_WORDS = (
    ("website", ("site", "web", "internet", "http")),
    ("press", ("presse", "journal", "quotidien", "ouest-france", "hebdo")),
    ("poster", ("affich", "panneau", "vitrine")),
    ("social", ("facebook", "twitter", "linkedin", "réseau", "reseau", "instagram")),
)


def medium_for(where, url):
    folded = where.lower()
    for medium, words in MEDIUM_WORDS:
        if any(word in folded for word in words):
            return medium
    return "website" if url else "other"


def notices_to_rows(apps, schema_editor):
    BreachLaboratory = apps.get_model("labs", "BreachLaboratory")
    PublicCommunication = apps.get_model("labs", "PublicCommunication")
    old = BreachLaboratory.objects.exclude(public_notice_where="", public_notice_at=None, public_notice_url="")
    for case_file in old.iterator():
        PublicCommunication.objects.create(
            case_file=case_file,
            # a notice recorded without a date: the case file's last change is the best known bound
            published_at=case_file.public_notice_at or case_file.updated_at,
            medium=medium_for(case_file.public_notice_where, case_file.public_notice_url),
            where=case_file.public_notice_where[:200],
            url=case_file.public_notice_url[:500],
            text="",
            figures={},  # the figures of the time were not recorded: none rather than today's
        )


def rows_to_notices(apps, schema_editor):
    BreachLaboratory = apps.get_model("labs", "BreachLaboratory")
    PublicCommunication = apps.get_model("labs", "PublicCommunication")
    for row in PublicCommunication.objects.order_by("case_file_id", "published_at"):
        BreachLaboratory.objects.filter(pk=row.case_file_id).update(
            public_notice_where=(row.where or row.get_medium_display())[:200],
            public_notice_at=row.published_at,
            public_notice_url=row.url[:200],
        )


class Migration(migrations.Migration):
    dependencies = [
        ("labs", "0010_obligations_open_existing"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="PublicCommunication",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("published_at", models.DateTimeField(verbose_name="publiée le")),
                (
                    "medium",
                    models.CharField(
                        choices=[
                            ("website", "site web"),
                            ("press", "presse"),
                            ("poster", "affichage"),
                            ("social", "réseaux sociaux"),
                            ("other", "autre"),
                        ],
                        max_length=10,
                        verbose_name="support",
                    ),
                ),
                (
                    "where",
                    models.CharField(
                        blank=True,
                        help_text="Ex. : titre du journal, page du site, lieu.",
                        max_length=200,
                        verbose_name="précision",
                    ),
                ),
                ("url", models.URLField(blank=True, max_length=500, verbose_name="lien")),
                ("text", models.TextField(blank=True, verbose_name="texte publié")),
                (
                    "figures",
                    models.JSONField(blank=True, default=dict, verbose_name="chiffres qui la justifient (figés)"),
                ),
                ("recorded_at", models.DateTimeField(auto_now_add=True, verbose_name="enregistrée le")),
                (
                    "case_file",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="public_communications",
                        to="labs.breachlaboratory",
                        verbose_name="dossier",
                    ),
                ),
                (
                    "recorded_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="enregistrée par",
                    ),
                ),
            ],
            options={
                "verbose_name": "communication publique (art. 34(3)(c))",
                "verbose_name_plural": "communications publiques (art. 34(3)(c))",
                "ordering": ["case_file", "published_at", "id"],
            },
        ),
        migrations.RunPython(notices_to_rows, rows_to_notices),
        migrations.RemoveField(
            model_name="breachlaboratory",
            name="public_notice_at",
        ),
        migrations.RemoveField(
            model_name="breachlaboratory",
            name="public_notice_url",
        ),
        migrations.RemoveField(
            model_name="breachlaboratory",
            name="public_notice_where",
        ),
        migrations.RemoveField(
            model_name="historicalbreachlaboratory",
            name="public_notice_at",
        ),
        migrations.RemoveField(
            model_name="historicalbreachlaboratory",
            name="public_notice_url",
        ),
        migrations.RemoveField(
            model_name="historicalbreachlaboratory",
            name="public_notice_where",
        ),
    ]
