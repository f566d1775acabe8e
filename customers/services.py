"""Writes of the bank's data."""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.db.models import F
from django.utils.translation import gettext
from tqdm import tqdm

from audit.models import AuditAction
from audit.services import AuditOrigin, audit_denied, audit_list_viewed, audit_record
from customers import conf
from customers.importing.schema import FILES, FileSpec
from customers.importing.uploads import UploadProblem, upload_problems
from customers.importing.validation import Problem, References, validate_file
from customers.importing.writers import StageSink, Writer, writer_for
from customers.models import Branch, ConsentSource, ContactChannel, ContactConsent, Customer, Product, User
from customers.permissions import user_can_reach_customer, user_can_reveal_personal_data
from customers.selectors import customer_scope

# A file with more rows than this gets a progress bar (when asked for).
PROGRESS_MIN_ROWS = 100_000


@dataclass(frozen=True)
class FileSummary:
    name: str
    rows: int
    inserted: int = 0
    updated: int = 0

    @property
    def unchanged(self) -> int:
        return self.rows - self.inserted - self.updated


@dataclass(frozen=True)
class ImportResult:
    """What an import did, or why it changed nothing.

    ``problems`` holds the first ``customers.conf.import_max_errors_shown()`` problems
    in file order, then line order; ``problem_count`` counts them all.
    ``timings`` maps each phase to seconds, for the benchmark and the logs.
    """

    files: tuple[FileSummary, ...] = ()
    # Row and column problems from the import engine, or file-level ones from the upload guards.
    problems: tuple[Problem | UploadProblem, ...] = ()
    problem_count: int = 0
    customers_refreshed: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    # Things that imported but look wrong (in the active language), e.g. no product is ours.
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.problem_count == 0


class _Rollback(Exception):
    """Raised inside the import's transaction to undo everything after a problem."""


def bank_data_upload_import(*, uploads: list[UploadedFile], origin: AuditOrigin) -> ImportResult:
    """Import a set of uploaded interchange files, all or nothing: the page's and the API's one way.

    The file-level guards (``customers.importing.uploads``) run first; the files that pass
    are written to a private temporary directory and handed to ``bank_data_import``.
    Exactly one audit event per upload, with the acting user, address and path: the import
    writes it when it succeeds, this function when anything refused the set."""
    names = [upload.name or "" for upload in uploads]  # the guards refuse a file without a known name
    guard_problems = upload_problems(uploads)
    if guard_problems:
        result = ImportResult(problems=tuple(guard_problems), problem_count=len(guard_problems))
    else:
        with tempfile.TemporaryDirectory(prefix="upload-") as directory:
            for upload, name in zip(uploads, names, strict=True):
                # The guards allow known names only, so the name cannot leave the directory.
                with open(Path(directory) / name, "wb") as out:
                    for chunk in upload.chunks():
                        out.write(chunk)
            result = bank_data_import(directory=Path(directory), origin=origin, uploaded=names)
    if not result.ok:
        audit_record(action=AuditAction.IMPORT, origin=origin,
                     detail={"files": names, "ok": False, "problem_count": result.problem_count})
    return result


def bank_data_import(*, directory: Path, progress: bool = False, origin: AuditOrigin | None = None,
                     uploaded: list[str] | None = None) -> ImportResult:
    """Import the interchange files found in ``directory``, all or nothing.

    Files are read in dependency order (branches, products, product yields,
    staff, customers, monthly balances, holdings, surveys, appointments);
    absent files are skipped, and their codes must then already be in the
    database. Every row of every file is checked; if anything is wrong the
    transaction is rolled back and the result lists the problems. Otherwise
    rows are upserted by natural key (unchanged rows are left alone), the
    customers in monthly.csv get their latest AUM, month, status and tier, and
    the import is written to the audit trail.
    """
    directory = Path(directory)
    present = [spec for spec in FILES if (directory / spec.name).is_file()]
    if not present:
        message = gettext("no interchange files found; expected one or more of %(names)s") % {
            "names": ", ".join(spec.name for spec in FILES)
        }
        return ImportResult(problems=(Problem(str(directory), None, "", message),), problem_count=1)

    run = _ImportRun(directory=directory, progress=progress, origin=origin, uploaded=uploaded)
    try:
        with transaction.atomic():
            run.run(present)
            if run.problem_count:
                raise _Rollback
            committing = time.perf_counter()
        run.timings["commit"] = time.perf_counter() - committing
    except _Rollback:
        pass
    limit = conf.import_max_errors_shown()
    files = run.summaries
    warnings: tuple[str, ...] = ()
    if run.problem_count:
        # Rolled back: whatever the files before the problem wrote is gone.
        files = [FileSummary(summary.name, summary.rows) for summary in files]
    elif any(spec.kind == "products" for spec in present):
        warnings = tuple(product_ownership_warnings())
    return ImportResult(
        warnings=warnings,
        files=tuple(files),
        problems=tuple(run.problems[:limit]),
        problem_count=run.problem_count,
        customers_refreshed=run.customers_refreshed,
        timings=run.timings,
    )


def product_ownership_warnings() -> list[str]:
    """A warning when no product, or every product, in the catalogue is ours.

    Either is almost always an export problem: the provider spelled differently
    from BANK_NAME (every own product becomes a competitor's, and reasons then
    speak of competitors' products the customer does not hold), or competitors'
    products missing. ``is_ours`` in products.csv says it outright.
    """
    total = Product.objects.count()
    ours = Product.objects.filter(is_ours=True).count()
    if not total:
        return []
    if ours == 0:
        return [gettext(
            "No product is ours: none of the %(total)s products has is_ours = true or the provider "
            "'%(bank)s' (BANK_NAME). Mark our products with is_ours in products.csv, or set BANK_NAME "
            "to the provider name the export uses."
        ) % {"total": f"{total:,}", "bank": conf.bank_name()}]
    if ours == total:
        return [gettext(
            "Every product is ours (%(total)s of %(total)s): competitors' products are missing, so the "
            "competitor rules and features have nothing to work on. Add them to products.csv with is_ours = false."
        ) % {"total": f"{total:,}"}]
    return []


class _ImportRun:
    """One import: the state that passes from file to file."""

    def __init__(self, *, directory: Path, progress: bool, origin: AuditOrigin | None,
                 uploaded: list[str] | None) -> None:
        self.directory = directory
        self.origin = origin
        self.uploaded = uploaded
        self.progress = progress
        self.problems: list[Problem] = []
        self.problem_count = 0
        self.summaries: list[FileSummary] = []
        self.customers_refreshed = 0
        self.timings: dict[str, float] = {}

    def timed(self, phase: str) -> _Timer:
        return _Timer(self.timings, phase)

    def run(self, present: list[FileSpec]) -> None:
        writer = writer_for(connection)
        writer.begin(files={spec.kind: self.directory / spec.name for spec in present},
                     tier_floors=conf.tier_floors())
        with self.timed("load references"):
            references = _references_from_database()
        for spec in present:
            self._import_file(spec, writer, references)
        if self.problem_count:
            return
        if any(spec.kind == "monthly" for spec in present):
            with self.timed("refresh customers"):
                self.customers_refreshed = writer.refresh_customers(tier_floors=conf.tier_floors())
        with self.timed("finish (late index rebuilds)"):
            writer.finish()
        detail = {"ok": True, "rows": {s.name: {"rows": s.rows, "inserted": s.inserted, "updated": s.updated}
                                       for s in self.summaries}}
        if self.uploaded is not None:
            # An upload's temporary directory means nothing afterwards; the names do.
            detail["files"] = self.uploaded
        else:
            detail["directory"] = str(self.directory)
        audit_record(
            action=AuditAction.IMPORT,
            origin=self.origin,
            actor_name="" if self.origin is not None and self.origin.actor is not None else "import_bank_data",
            detail=detail,
        )

    def _import_file(self, spec: FileSpec, writer: Writer, references: References) -> None:
        path = self.directory / spec.name
        # Once anything is wrong nothing will be written, so later files are
        # only checked: staging them would be wasted work.
        writing = not self.problem_count
        stage = _Stage(writer, spec, path) if writing else None
        bar = _ProgressBar(spec.name, path) if self.progress else None
        try:
            with self.timed(f"read, check, stage: {spec.name}"):
                result = validate_file(
                    path,
                    spec,
                    references,
                    keep=conf.import_max_errors_shown(),
                    bank_name=conf.bank_name(),
                    on_clean=stage.write if stage is not None else _ignore,
                    on_restart=stage.restart if stage is not None else _nothing,
                    on_progress=bar.update if bar is not None else None,
                    typed=stage is not None and stage.typed,
                )
                if stage is not None:
                    stage.close()
        finally:
            if bar is not None:
                bar.close()
            if stage is not None:
                stage.close()
        self.problem_count += result.problem_count
        self.problems.extend(result.problems)
        if self.problem_count or not writing:
            self.summaries.append(FileSummary(spec.name, result.rows))
            return
        with self.timed(f"write: {spec.name}"):
            inserted, updated = writer.upsert(spec)
        self.summaries.append(FileSummary(spec.name, result.rows, inserted, updated))


class _Stage:
    """A file's staging table, restartable when the careful reader starts over."""

    def __init__(self, writer: Writer, spec: FileSpec, path: Path) -> None:
        self.writer = writer
        self.spec = spec
        self.sink: StageSink | None = writer.open_stage(spec, path)
        # A restarted file gets the same kind of sink again.
        self.typed = self.sink.typed

    def write(self, table: pa.Table) -> None:
        if self.sink is not None:
            self.sink.write(table)

    def restart(self) -> None:
        self.close()
        self.sink = self.writer.reopen_stage(self.spec)

    def close(self) -> None:
        if self.sink is not None:
            sink, self.sink = self.sink, None
            sink.close()


class _ProgressBar:
    """A tqdm bar on stderr, shown only once a file passes PROGRESS_MIN_ROWS rows."""

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.size = path.stat().st_size
        self.bar: tqdm | None = None

    def update(self, rows: int, position: int) -> None:
        if self.bar is None:
            if rows < PROGRESS_MIN_ROWS:
                return
            self.bar = tqdm(total=self.size, desc=self.name, unit="B", unit_scale=True, file=sys.stderr, leave=False)
        self.bar.update(min(position, self.size) - self.bar.n)
        self.bar.set_postfix_str(gettext("%(rows)s rows") % {"rows": f"{rows:,}"}, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.update(self.size - self.bar.n)
            self.bar.close()


class _Timer:
    def __init__(self, timings: dict[str, float], phase: str) -> None:
        self.timings = timings
        self.phase = phase

    def __enter__(self) -> None:
        self.started = time.perf_counter()

    def __exit__(self, *exc_info: object) -> None:
        self.timings[self.phase] = self.timings.get(self.phase, 0.0) + time.perf_counter() - self.started


def _ignore(table: pa.Table) -> None:
    pass


def _nothing() -> None:
    pass


def _references_from_database() -> References:
    def codes(values: Iterable[str]) -> pa.Array:
        return pa.array(list(values), pa.string())

    staff_roles = {code: role for code, role in User.objects.values_list("staff_code", "role") if code is not None}
    return References(
        branches=codes(Branch.objects.values_list("code", flat=True)),
        customers=codes(Customer.objects.values_list("customer_id", flat=True).iterator(chunk_size=100_000)),
        products=codes(Product.objects.values_list("product_code", flat=True)),
        staff_roles=staff_roles,
        foreign_usernames=codes(User.objects.exclude(username=F("staff_code")).values_list("username", flat=True)),
    )


# --- reads of a customer's record, as the audit trail sees them -------------------------------


def customer_viewed(*, customer: Customer, origin: AuditOrigin, part: str = "") -> None:
    """One view of a customer's record (the 360 page, an API part, the admin's change form)."""
    audit_record(action=AuditAction.VIEW, origin=origin, obj=customer, detail={"part": part} if part else {})


# Field -> who may see it in full. The phone number is for calling the customer: whoever's
# work that is (``user_can_reach_customer``). The ID number is needed by few, so it stays
# with the staff granted the reveal permission.
REVEAL_RULES = {
    "phone": user_can_reach_customer,
    "id_number": lambda user, customer: user_can_reveal_personal_data(user),
}


def customer_field_reveal(*, customer: Customer, field: str, origin: AuditOrigin) -> str:
    """The full value of a masked field (``REVEAL_RULES``): the phone number for the staff
    who call the customer, the ID number for staff with the reveal permission. Every reveal
    and every refused one is audited; PermissionDenied when refused."""
    allowed = REVEAL_RULES.get(field)
    if origin.actor is None or allowed is None or not allowed(origin.actor, customer):
        audit_record(action=AuditAction.DENIED, origin=origin, obj=customer, detail={"reveal": field})
        raise PermissionDenied
    audit_record(action=AuditAction.REVEAL, origin=origin, obj=customer, detail={"field": field})
    return getattr(customer, field)


def customer_data_shown(*, origin: AuditOrigin, what: str, filters: dict | None, customer_ids: list[str],
                        export: bool = False, rows: int | None = None, extra: dict | None = None) -> None:
    """A list of customer data was shown or exported (alerts, interceptions, callbacks, a
    dashboard, an export): who, with which filters, how many rows, which customers.
    ``rows`` defaults to the number of customers (a dashboard's rows are its owners)."""
    audit_list_viewed(origin=origin, what=what, filters=filters,
                      rows=len(customer_ids) if rows is None else rows, customer_ids=customer_ids,
                      action=AuditAction.EXPORT if export else AuditAction.VIEW, extra=extra)


def customer_action_refused(*, customer: Customer, action: str, origin: AuditOrigin) -> None:
    """An action on a customer in scope that the user's role may not take (answered 404,
    like an out-of-scope customer): audited as refused, like every other attempt."""
    audit_denied(origin=origin, object_type="customers.customer", object_id=customer.pk, reason=action)


@transaction.atomic
def customer_segment_override(*, customer: Customer, segment_override: str, reason: str,
                              origin: AuditOrigin) -> Customer:
    """An RM's or head's own judgement of the segment (empty: back to the rules'), with the
    reason; audited with the values before and after."""
    before = Customer.objects.select_for_update().filter(pk=customer.pk).values(
        "segment_override", "segment_override_reason").get()
    customer.segment_override = segment_override
    customer.segment_override_reason = reason if segment_override else ""
    customer.save(update_fields=["segment_override", "segment_override_reason"])
    audit_record(action=AuditAction.CHANGE, origin=origin, obj=customer, detail={
        "field": "segment_override",
        "before": {"segment_override": before["segment_override"], "reason": before["segment_override_reason"]},
        "after": {"segment_override": customer.segment_override, "reason": customer.segment_override_reason},
    })
    return customer


def _consent_state(consent: ContactConsent | None) -> dict | None:
    if consent is None:
        return None
    return {"do_not_contact": consent.do_not_contact, "reason": consent.reason,
            "effective_on": consent.effective_on.isoformat(), "source": consent.source}


def contact_consent_set(*, customer: Customer, channel: str, do_not_contact: bool, reason: str,
                        effective_on: dt.date, origin: AuditOrigin) -> ContactConsent:
    """Record the customer's wish about one channel: do not contact (with the reason they
    gave), or contact again (clearing the flag; the row stays and says who cleared it).

    By staff who may see the customer (``customer_scope``: their RM, the branch's lobby
    manager and head, an administrator); anyone else is refused (PermissionDenied) and
    audited. Every change is audited with the values before and after."""
    actor = origin.actor
    if actor is None or not customer_scope(user=actor).filter(pk=customer.pk).exists():
        audit_denied(origin=origin, object_type="customers.customer", object_id=customer.pk,
                     reason="contact_consent")
        raise PermissionDenied
    if channel not in ContactChannel.values:
        raise ValidationError(gettext("Unknown channel."))
    reason = (reason or "").strip()
    if do_not_contact and not reason:
        raise ValidationError(gettext("Say why the customer does not want to be contacted."))
    # The refusal above is audited outside the change's transaction, so it stays recorded.
    with transaction.atomic():
        existing = ContactConsent.objects.select_for_update().filter(customer=customer, channel=channel).first()
        before = _consent_state(existing)
        consent = existing or ContactConsent(customer=customer, channel=channel)
        consent.do_not_contact = do_not_contact
        consent.reason = reason
        consent.effective_on = effective_on
        consent.source = ConsentSource.STAFF
        consent.set_by = actor
        consent.save()
        audit_record(action=AuditAction.CHANGE, origin=origin, obj=customer, detail={
            "field": "contact_consent", "channel": channel, "before": before, "after": _consent_state(consent),
        })
    return consent
