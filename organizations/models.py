"""Organizations (the companies that receive documents) and who may act for them."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from organizations.nit import format_nit, nit_check_digit
from organizations.roles import Role

nit_digits = RegexValidator(
    r"^\d{5,15}$", _("El NIT debe tener solo dígitos, sin puntos ni guion.")
)


class Organization(models.Model):
    name = models.CharField(_("razón social"), max_length=200)
    nit = models.CharField(
        _("NIT"),
        max_length=15,
        unique=True,
        validators=[nit_digits],
        help_text=_("Solo dígitos, sin dígito de verificación."),
    )
    check_digit = models.PositiveSmallIntegerField(
        _("dígito de verificación"), help_text=_("Calculado por la DIAN con módulo 11.")
    )
    created_at = models.DateTimeField(_("creada"), auto_now_add=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="Membership",
        related_name="organizations",
        verbose_name=_("miembros"),
    )

    class Meta:
        verbose_name = _("organización")
        verbose_name_plural = _("organizaciones")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(check_digit__lte=9), name="organization_check_digit_0_9"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.nit_display})"

    @property
    def nit_display(self) -> str:
        """As Colombians write it: 900.123.456-8."""
        return format_nit(self.nit, self.check_digit)

    def clean(self) -> None:
        if self.nit and self.nit.isdigit() and self.check_digit is not None:
            expected = nit_check_digit(self.nit)
            if expected != self.check_digit:
                raise ValidationError(
                    {
                        "check_digit": _(
                            "El dígito de verificación de %(nit)s es %(expected)s, no %(given)s."
                        )
                        % {"nit": self.nit, "expected": expected, "given": self.check_digit}
                    }
                )


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("usuario"),
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("organización"),
    )
    role = models.CharField(_("rol"), max_length=20, choices=Role.choices)

    class Meta:
        verbose_name = _("miembro")
        verbose_name_plural = _("miembros")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization"], name="one_membership_per_user_and_organization"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.organization} · {self.get_role_display()}"
