"""The bank's data: branches, staff, customers and what they hold.

Natural keys from the bank's core system (branch_code, staff_code,
customer_id, product_code) are unique here, so imports upsert by them.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Branch(models.Model):
    code = models.CharField(_("branch code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    city = models.CharField(_("city"), max_length=100, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("branch")
        verbose_name_plural = _("branches")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Role(models.TextChoices):
    RM = "rm", _("Relationship manager")
    LOBBY = "lobby", _("Lobby manager")
    HEAD = "head", _("Branch head")
    ANALYST = "analyst", _("Analyst")
    ADMIN = "admin", _("Administrator")


class User(AbstractUser):
    """A member of staff. Staff imported from ``staff.csv`` are users whose
    username is their staff code; they cannot log in until given a password."""

    staff_code = models.CharField(_("staff code"), max_length=32, unique=True, null=True, blank=True)
    display_name = models.CharField(_("name"), max_length=200, blank=True)
    branch = models.ForeignKey(
        Branch, verbose_name=_("branch"), null=True, blank=True, on_delete=models.PROTECT, related_name="staff"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.RM)
    # The language of what the application sends them (the daily digest); blank: the bank's
    # LANGUAGE_CODE. The pages follow the browser instead. A default in the database too, since
    # the staff import writes the table with its own INSERT (customers.importing.writers).
    language = models.CharField(
        _("language"), max_length=8, blank=True, default="", db_default="",
        choices=[("zh-hans", _("Simplified Chinese")), ("en", _("English"))],
    )

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username


class Segment(models.TextChoices):
    PRODUCT = "product", _("Product-oriented")
    CONSUMPTION = "consumption", _("Consumption-oriented")
    SERVICE = "service", _("Service-oriented")


class Tier(models.TextChoices):
    MASS = "mass", _("Mass")
    GOLD = "gold", _("Gold")
    PLATINUM = "platinum", _("Platinum")
    PRIVATE = "private", _("Private banking")


class CustomerStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    CLOSED = "closed", _("Closed")


class Customer(models.Model):
    customer_id = models.CharField(_("customer ID"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    # Empty when the bank's export has none (customers.csv may leave gender empty).
    gender = models.CharField(_("gender"), max_length=1, choices=[("M", _("Male")), ("F", _("Female"))], blank=True)
    birth_date = models.DateField(_("birth date"))
    id_number = models.CharField(_("ID number"), max_length=32)
    phone = models.CharField(_("phone"), max_length=32)
    # Last four digits, kept apart so the lobby's walk-in lookup is an index hit.
    phone_tail = models.CharField(_("phone, last 4 digits"), max_length=4, db_index=True, editable=False)
    id_tail = models.CharField(_("ID number, last 4 digits"), max_length=4, db_index=True, editable=False)
    branch = models.ForeignKey(Branch, verbose_name=_("branch"), on_delete=models.PROTECT, related_name="customers")
    # Empty for a customer not yet assigned to an RM (customers.csv may leave rm_code and
    # opened_on empty). Such a customer is seen by the branch's lobby manager and head, not by
    # any RM, and their cases go to the branch head (retention.raising._owner_for).
    # PROTECT: removing a member of staff must never delete or silently unassign customers.
    rm = models.ForeignKey(
        User,
        verbose_name=_("relationship manager"),
        on_delete=models.PROTECT,
        related_name="customers",
        null=True,
        blank=True,
    )
    opened_on = models.DateField(_("customer since"), null=True, blank=True)
    region = models.CharField(_("region"), max_length=100, blank=True)
    annual_income = models.DecimalField(_("annual income"), max_digits=16, decimal_places=2, null=True, blank=True)
    credit_score = models.IntegerField(_("credit score"), null=True, blank=True)
    # Segment assigned by rules; an RM's override wins and is kept across re-assignments.
    segment = models.CharField(_("segment"), max_length=16, choices=Segment.choices, blank=True)
    segment_override = models.CharField(_("segment (set by RM)"), max_length=16, choices=Segment.choices, blank=True)
    segment_override_reason = models.CharField(_("reason for segment override"), max_length=300, blank=True)
    tier = models.CharField(_("AUM tier"), max_length=16, choices=Tier.choices, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=CustomerStatus.choices, default=CustomerStatus.ACTIVE)
    latest_aum = models.DecimalField(_("latest AUM"), max_digits=18, decimal_places=2, default=0)
    latest_month = models.DateField(_("latest month"), null=True, blank=True)

    class Meta:
        ordering = ["customer_id"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(fields=["rm", "status"]),
            models.Index(fields=["branch", "status"]),
            models.Index(fields=["name"]),
            # The lobby's walk-in lookup is a name prefix (LIKE 'x%') within a branch; with the
            # database's collation only a pattern_ops index serves LIKE on PostgreSQL (other
            # databases ignore opclasses and get a plain index).
            models.Index(
                fields=["branch", "name"],
                name="customer_branch_name_prefix",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.customer_id})"

    def save(self, *args, **kwargs):
        self.phone_tail = (self.phone or "")[-4:]
        self.id_tail = (self.id_number or "")[-4:]
        super().save(*args, **kwargs)

    @property
    def effective_segment(self) -> str:
        return self.segment_override or self.segment


class MonthlyBalance(models.Model):
    """One row per customer and month, straight from ``monthly.csv``.
    ``month`` is stored as the first day of the month."""

    # No index of its own: uniq_balance_customer_month leads with the customer and serves
    # every lookup by customer, and one index fewer is one sort of 24M rows fewer per first import.
    customer = models.ForeignKey(Customer, verbose_name=_("customer"),
                                 on_delete=models.CASCADE, related_name="balances", db_index=False)
    month = models.DateField(_("month"))
    aum = models.DecimalField(_("AUM"), max_digits=18, decimal_places=2)
    deposit_balance = models.DecimalField(_("deposits"), max_digits=18, decimal_places=2)
    wealth_balance = models.DecimalField(_("wealth products"), max_digits=18, decimal_places=2)
    loan_balance = models.DecimalField(_("loans"), max_digits=18, decimal_places=2)
    card_spend = models.DecimalField(_("card spend"), max_digits=18, decimal_places=2)
    txn_count = models.IntegerField(_("transactions"))
    digital_logins = models.IntegerField(_("digital logins"))
    products_held = models.IntegerField(_("products held"))
    status = models.CharField(_("status"), max_length=8, choices=CustomerStatus.choices)
    # The month's daily-average AUM (月日均), on which Chinese banks usually set tiers; optional
    # in monthly.csv. Month-end and daily average together show money parked for the month-end.
    aum_month_avg = models.DecimalField(_("daily-average AUM of the month"), max_digits=18, decimal_places=2,
                                        null=True, blank=True)

    class Meta:
        verbose_name = _("monthly balance")
        verbose_name_plural = _("monthly balances")
        constraints = [models.UniqueConstraint(fields=["customer", "month"], name="uniq_balance_customer_month")]
        indexes = [models.Index(fields=["month"])]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.month:%Y-%m}"


class ProductKind(models.TextChoices):
    DEPOSIT = "deposit", _("Deposit")
    WEALTH = "wealth", _("Wealth product")
    FUND = "fund", _("Fund")
    INSURANCE = "insurance", _("Insurance")
    LOAN = "loan", _("Loan")
    CARD = "card", _("Card")


class Product(models.Model):
    product_code = models.CharField(_("product code"), max_length=32, unique=True)
    provider = models.CharField(_("provider"), max_length=200)
    is_ours = models.BooleanField(_("our product"), default=False)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=ProductKind.choices)
    yield_pct = models.DecimalField(_("yield %"), max_digits=7, decimal_places=3, null=True, blank=True)
    term_days = models.IntegerField(_("term (days)"), null=True, blank=True)

    class Meta:
        ordering = ["provider", "product_code"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        indexes = [models.Index(fields=["is_ours", "kind"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.provider})"


class ProductYield(models.Model):
    """Yield history of a product, one row per product and month."""

    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="yields")
    month = models.DateField(_("month"))
    yield_pct = models.DecimalField(_("yield %"), max_digits=7, decimal_places=3)

    class Meta:
        ordering = ["product", "month"]
        verbose_name = _("product yield")
        verbose_name_plural = _("product yield history")
        constraints = [models.UniqueConstraint(fields=["product", "month"], name="uniq_yield_product_month")]

    def __str__(self) -> str:
        return f"{self.product_id} {self.month:%Y-%m}: {self.yield_pct}%"


class Holding(models.Model):
    customer = models.ForeignKey(Customer, verbose_name=_("customer"),
                                 on_delete=models.CASCADE, related_name="holdings")
    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="holdings")
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2)
    start_on = models.DateField(_("start date"))
    maturity_on = models.DateField(_("maturity date"), null=True, blank=True)

    # Not a column: set by ``customers.selectors.customer_holdings_by_maturity`` for the page.
    days_to_maturity: int | None = None

    class Meta:
        verbose_name = _("holding")
        verbose_name_plural = _("holdings")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "product", "start_on"], name="uniq_holding_customer_product_start"
            )
        ]
        indexes = [models.Index(fields=["maturity_on"])]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.product_id} {self.amount} ({self.start_on})"


class Survey(models.Model):
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="surveys")
    surveyed_on = models.DateField(_("survey date"))
    score = models.PositiveSmallIntegerField(_("score"))
    channel = models.CharField(_("channel"), max_length=32)
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        ordering = ["-surveyed_on"]
        verbose_name = _("satisfaction survey")
        verbose_name_plural = _("satisfaction surveys")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "surveyed_on", "channel"], name="uniq_survey_customer_date_channel"
            )
        ]
        indexes = [models.Index(fields=["surveyed_on"])]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.surveyed_on}: {self.score}"


class AppointmentKind(models.TextChoices):
    CASH_WITHDRAWAL = "cash_withdrawal", _("Large cash withdrawal")
    TRANSFER = "transfer", _("Large transfer")


class Appointment(models.Model):
    customer = models.ForeignKey(Customer, verbose_name=_("customer"),
                                 on_delete=models.CASCADE, related_name="appointments")
    kind = models.CharField(_("kind"), max_length=16, choices=AppointmentKind.choices)
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2)
    scheduled_on = models.DateField(_("scheduled for"))

    class Meta:
        ordering = ["scheduled_on"]
        verbose_name = _("large-transaction appointment")
        verbose_name_plural = _("large-transaction appointments")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "kind", "scheduled_on"], name="uniq_appointment_customer_kind_day"
            )
        ]
        indexes = [models.Index(fields=["scheduled_on"])]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.kind} {self.amount} ({self.scheduled_on})"


class ContactChannel(models.TextChoices):
    CALL = "call", _("Phone call")
    VISIT = "visit", _("Visit")
    BRANCH = "branch", _("In branch")
    MESSAGE = "message", _("Message")


class ContactResult(models.TextChoices):
    REACHED = "reached", _("Reached, talked")
    NO_ANSWER = "no_answer", _("No answer")
    AGREED = "agreed", _("Agreed to stay / bring funds back")
    DECLINED = "declined", _("Declined")
    COMPLAINT = "complaint", _("Complaint / service failure")


class ContactLog(models.Model):
    """What staff did with a customer. Written by the app, not imported."""

    customer = models.ForeignKey(Customer, verbose_name=_("customer"),
                                 on_delete=models.CASCADE, related_name="contacts")
    staff = models.ForeignKey(User, verbose_name=_("staff member"), on_delete=models.PROTECT, related_name="contacts")
    contacted_at = models.DateTimeField(_("contacted at"))
    channel = models.CharField(_("channel"), max_length=16, choices=ContactChannel.choices)
    result = models.CharField(_("result"), max_length=16, choices=ContactResult.choices)
    note = models.TextField(_("note"), blank=True)
    next_step_on = models.DateField(_("next step on"), null=True, blank=True)

    class Meta:
        ordering = ["-contacted_at"]
        verbose_name = _("contact")
        verbose_name_plural = _("contact log")
        indexes = [models.Index(fields=["customer", "-contacted_at"])]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.channel} {self.result} ({self.contacted_at:%Y-%m-%d %H:%M})"


class ConsentSource(models.TextChoices):
    STAFF = "staff", _("Set by staff")
    IMPORT = "import", _("Bank data import")


class ContactConsent(models.Model):
    """The customer's wish about one channel (the shape of Salesforce's ContactPointConsent:
    customer, channel, opt-out status, reason, effective date, capture source).

    One row per customer and channel, kept when the flag is cleared (``do_not_contact``
    false), so the row says who changed it last and when it takes effect. The latest
    statement wins: an import's row replaces a stored one only if its ``effective_on`` is
    not earlier (a wish told to staff after the bank's export was made is kept). Every
    change by staff is in the audit trail."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(_("channel"), max_length=16, choices=ContactChannel.choices)
    do_not_contact = models.BooleanField(_("do not contact"), default=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    # In force from this day (the day the customer asked, as a rule).
    effective_on = models.DateField(_("effective from"))
    source = models.CharField(_("source"), max_length=8, choices=ConsentSource.choices, default=ConsentSource.STAFF)
    # The member of staff who last set or cleared it on the customer page; empty when an import did.
    set_by = models.ForeignKey(
        User, verbose_name=_("set by"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["customer", "channel"]
        verbose_name = _("contact preference")
        verbose_name_plural = _("contact preferences")
        constraints = [
            models.UniqueConstraint(fields=["customer", "channel"], name="uniq_consent_customer_channel"),
        ]

    def __str__(self) -> str:
        state = "do not contact" if self.do_not_contact else "may contact"
        return f"{self.customer_id} {self.channel}: {state} ({self.effective_on})"
