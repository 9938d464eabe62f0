"""Models mirroring the report and its three statutory tables (ADR 0001).

Codes and labels come from the format registry; database constraints guard
the invariants (non-negative counts, one row per code per report, a format
that matches the year).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from . import formats as reg

AMOUNT_DIGITS = {"max_digits": 20, "decimal_places": 6}


def _choices(codes: set[str]) -> list[tuple[str, str]]:
    return [(code, code) for code in sorted(codes)]


def _non_negative(prefix: str, fields: list[str]) -> list[models.CheckConstraint]:
    return [
        models.CheckConstraint(
            condition=Q(**{f"{name}__isnull": True}) | Q(**{f"{name}__gte": 0}),
            name=f"{prefix}_{name}_non_negative",
        )
        for name in fields
    ]


def _format_matches_year() -> Q:
    """The format in force for a year, derived from the registry."""
    starts = sorted(f.first_year for f in reg.FORMATS.values())
    condition = Q()
    for i, start in enumerate(starts):
        fmt = reg.format_for_year(start)
        in_range = Q(year__gte=start)
        if i + 1 < len(starts):
            in_range &= Q(year__lt=starts[i + 1])
        condition |= in_range & Q(format=fmt.code)
    return condition


class Organization(models.Model):
    class Kind(models.TextChoices):
        GOVERNMENT = "government", "人民政府"
        DEPARTMENT = "department", "政府部门"

    name = models.CharField("名称", max_length=200)
    code = models.SlugField("代码", max_length=64, unique=True)
    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name="上级机关",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    # Materialized path of ids from the top, e.g. "/1/12/345/": a subtree is one
    # indexed prefix scan instead of a walk of every organization (ADR 0014).
    path = models.CharField("路径", max_length=255, blank=True, default="", editable=False)

    class Scope(models.TextChoices):
        OWN = "own", "本级"
        ROLLUP = "rollup", "本级及所属部门汇总"

    # What a government's report covers: where it is a roll-up, the hierarchy rule
    # compares its figures with the sum of its subtree's reports (issue 15).
    report_scope = models.CharField("报告范围", max_length=8, choices=Scope.choices, default=Scope.OWN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "机关"
        verbose_name_plural = "机关"
        ordering = ["code"]
        indexes = [
            # varchar_pattern_ops lets PostgreSQL use the index for LIKE 'prefix%' under
            # any collation; other databases ignore the operator class.
            models.Index(fields=["path"], name="org_path_idx", opclasses=["varchar_pattern_ops"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["government", "department"]), name="org_kind_valid"),
            models.CheckConstraint(condition=~Q(parent=models.F("id")), name="org_not_own_parent"),
            models.CheckConstraint(condition=Q(report_scope__in=["own", "rollup"]), name="org_report_scope_valid"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        parent_path = ""
        if self.parent_id is not None:
            parent_path = Organization.objects.filter(pk=self.parent_id).values_list("path", flat=True).first() or ""
            if self.pk is not None and f"/{self.pk}/" in parent_path:
                raise ValueError("An organization cannot be moved under itself.")
        super().save(*args, **kwargs)
        self._sync_path(parent_path)

    @property
    def is_government(self) -> bool:
        return self.kind == self.Kind.GOVERNMENT

    @property
    def ancestor_ids(self) -> list[int]:
        """Ids from the top down to this organization (itself included), read from the path."""
        return [int(part) for part in self.path.strip("/").split("/") if part]

    @property
    def depth(self) -> int:
        return self.path.count("/") - 1

    def _sync_path(self, parent_path: str) -> None:
        """Keep this path and its subtree's right after a create or a move."""
        new = f"{parent_path or '/'}{self.pk}/"
        old = Organization.objects.filter(pk=self.pk).values_list("path", flat=True).first() or ""
        if old == new:
            self.path = new
            return
        if old:
            # Rewrites the prefix of every descendant in one statement.
            from django.db.models.functions import Concat, Substr

            Organization.objects.filter(path__startswith=old).exclude(pk=self.pk).update(
                path=Concat(models.Value(new), Substr("path", len(old) + 1), output_field=models.CharField())
            )
        Organization.objects.filter(pk=self.pk).update(path=new)
        self.path = new


class ReportStatus(models.TextChoices):
    DRAFT = "draft", "草稿"
    SUBMITTED = "submitted", "已提交"
    RETURNED = "returned", "已退回"
    APPROVED = "approved", "已审核"
    PUBLISHED = "published", "已发布"


class Report(models.Model):
    Status = ReportStatus

    organization = models.ForeignKey(
        Organization, verbose_name="机关", on_delete=models.PROTECT, related_name="reports"
    )
    year = models.PositiveSmallIntegerField("报告年度")
    format = models.CharField("格式版本", max_length=8, choices=[(code, code) for code in reg.FORMATS])
    # The name as printed on this report: offices are renamed over the years.
    organization_name = models.CharField("署名机关", max_length=200)
    title = models.CharField("标题", max_length=300, blank=True)
    issued_on = models.DateField("成文日期", null=True, blank=True)
    status = models.CharField("状态", max_length=16, choices=ReportStatus.choices, default=ReportStatus.DRAFT)
    # 2019-format 政府集中采购 amount: the statute gives no unit, so we keep it.
    procurement_unit = models.CharField("采购金额单位", max_length=8, default=reg.DEFAULT_PROCUREMENT_UNIT)
    processing_fee_yuan = models.DecimalField("信息处理费（元）", null=True, blank=True, **AMOUNT_DIGITS)
    # The clerk's written explanation of each warning, by finding key.
    explanations = models.JSONField("警示说明", default=dict, blank=True)
    # Bumped on every write; a save against a stale version is refused.
    version = models.PositiveIntegerField("版本", default=1)
    # The rules' findings as of the last write (services.findings.store_findings),
    # so the dashboard reads columns instead of re-running rules (ADR 0014).
    error_count = models.PositiveIntegerField("错误数", default=0)
    warning_count = models.PositiveIntegerField("警示数", default=0)
    finding_rules = models.JSONField("触发的规则", default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "年度报告"
        verbose_name_plural = "年度报告"
        ordering = ["organization__code", "-year"]
        indexes = [models.Index(fields=["year", "status"], name="report_year_status_idx")]
        constraints = [
            models.UniqueConstraint(fields=["organization", "year"], name="report_one_per_org_year"),
            models.CheckConstraint(condition=Q(year__gte=reg.FIRST_YEAR), name="report_year_valid"),
            models.CheckConstraint(condition=_format_matches_year(), name="report_format_matches_year"),
            models.CheckConstraint(condition=Q(status__in=ReportStatus.values), name="report_status_valid"),
            models.CheckConstraint(condition=Q(procurement_unit__in=["万元", "元"]), name="report_unit_valid"),
            *_non_negative("report", ["processing_fee_yuan"]),
        ]

    def __str__(self) -> str:
        return f"{self.organization.name} {self.year}"

    @property
    def spec(self) -> reg.Format:
        return reg.get_format(self.format)


class NarrativePart(models.Model):
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="narrative_parts")
    path = models.CharField(max_length=64, choices=_choices(reg.all_narrative_paths()))
    text = models.TextField(blank=True)

    class Meta:
        verbose_name = "文字部分"
        verbose_name_plural = "文字部分"
        constraints = [
            models.UniqueConstraint(fields=["report", "path"], name="narrative_one_per_path"),
            models.CheckConstraint(
                condition=Q(path__in=sorted(reg.all_narrative_paths())), name="narrative_path_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.path


_AD = reg.active_disclosure_columns()


def _ad_count(code: str) -> models.IntegerField:
    return models.IntegerField(_AD[code].label, null=True, blank=True)


class ActiveDisclosureRow(models.Model):
    """One row of a 第二十条 sub-table of table 二 (both formats' columns)."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="active_rows")
    subtable = models.CharField(max_length=16, choices=_choices(reg.all_subtable_codes()))
    row = models.CharField(max_length=32, choices=_choices(reg.all_row_codes("active_disclosure")))
    issued = _ad_count("issued")
    repealed = _ad_count("repealed")
    in_force = _ad_count("in_force")
    made = _ad_count("made")
    published = _ad_count("published")
    total_published = _ad_count("total_published")
    previous = _ad_count("previous")
    change = _ad_count("change")  # signed: 本年增/减
    decisions = _ad_count("decisions")
    count = _ad_count("count")
    amount = models.DecimalField(_AD["amount"].label, null=True, blank=True, **AMOUNT_DIGITS)

    class Meta:
        verbose_name = "主动公开情况行"
        verbose_name_plural = "主动公开情况"
        constraints = [
            models.UniqueConstraint(fields=["report", "subtable", "row"], name="active_one_per_row"),
            models.CheckConstraint(
                condition=Q(subtable__in=sorted(reg.all_subtable_codes())),
                name="active_subtable_valid",
            ),
            models.CheckConstraint(
                condition=Q(row__in=sorted(reg.all_row_codes("active_disclosure"))),
                name="active_row_valid",
            ),
            *_non_negative(
                "active",
                [c.code for c in _AD.values() if c.kind != reg.CellKind.SIGNED],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subtable}.{self.row}"


APPLICATION_FIELDS = [c.code for c in reg.FORMATS["2021"].applications_columns]


def _app_count(code: str) -> models.IntegerField:
    col = reg.FORMATS["2021"].applications_column(code)
    return models.IntegerField(col.label, null=True, blank=True)


class ApplicationRow(models.Model):
    """One row of table 三; computed cells (总计) are stored as derived or printed."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="application_rows")
    row = models.CharField(max_length=32, choices=_choices(reg.all_row_codes("applications")))
    natural_person = _app_count("natural_person")
    commercial = _app_count("commercial")
    research = _app_count("research")
    social_welfare = _app_count("social_welfare")
    legal_service = _app_count("legal_service")
    other_org = _app_count("other_org")
    total = _app_count("total")

    class Meta:
        verbose_name = "申请情况行"
        verbose_name_plural = "收到和处理申请情况"
        constraints = [
            models.UniqueConstraint(fields=["report", "row"], name="application_one_per_row"),
            models.CheckConstraint(
                condition=Q(row__in=sorted(reg.all_row_codes("applications"))),
                name="application_row_valid",
            ),
            *_non_negative("application", APPLICATION_FIELDS),
        ]

    def __str__(self) -> str:
        return self.row


REVIEW_FIELDS = [c.code for c in reg.FORMATS["2021"].reviews_columns]


def _review_count(code: str) -> models.IntegerField:
    col = next(c for c in reg.FORMATS["2021"].reviews_columns if c.code == code)
    return models.IntegerField(col.label, null=True, blank=True)


class ReviewRow(models.Model):
    """One block of table 四 (行政复议 / 未经复议直接起诉 / 复议后起诉)."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="review_rows")
    block = models.CharField(max_length=32, choices=_choices(reg.all_row_codes("reviews")))
    upheld = _review_count("upheld")
    corrected = _review_count("corrected")
    other = _review_count("other")
    pending = _review_count("pending")
    total = _review_count("total")

    class Meta:
        verbose_name = "复议诉讼情况"
        verbose_name_plural = "复议诉讼情况"
        constraints = [
            models.UniqueConstraint(fields=["report", "block"], name="review_one_per_block"),
            models.CheckConstraint(
                condition=Q(block__in=sorted(reg.all_row_codes("reviews"))),
                name="review_block_valid",
            ),
            *_non_negative("review", REVIEW_FIELDS),
        ]

    def __str__(self) -> str:
        return self.block


class Membership(models.Model):
    """A user's role at an organization (the workflow issue builds permissions on it)."""

    class Role(models.TextChoices):
        CLERK = "clerk", "填报人"
        REVIEWER = "reviewer", "本单位审核人"
        SUPERVISOR = "supervisor", "上级政务公开主管部门"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(
        Organization, verbose_name="机关", on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField("角色", max_length=16, choices=Role.choices)

    class Meta:
        verbose_name = "岗位"
        verbose_name_plural = "岗位"
        constraints = [
            models.UniqueConstraint(fields=["user", "organization", "role"], name="membership_unique"),
            models.CheckConstraint(
                condition=Q(role__in=["clerk", "reviewer", "supervisor"]), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.organization} · {self.get_role_display()}"


class WriteOnce(models.Model):
    """A record of what happened: written once, never changed."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValueError(f"{type(self).__name__} rows are written once and never changed.")
        super().save(*args, **kwargs)


class AuditEvent(WriteOnce):
    """Append-only record of every write (who, when, what: old → new)."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=64)
    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    report = models.ForeignKey(Report, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events")
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = "审计记录"
        verbose_name_plural = "审计记录"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action}"

    def delete(self, *args, **kwargs):
        raise ValueError("Audit events are append-only.")


class Revision(WriteOnce):
    """A frozen snapshot (interchange JSON) taken at each submission and publication."""

    class Event(models.TextChoices):
        SUBMISSION = "submission", "提交"
        PUBLICATION = "publication", "发布"

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField("修订号")
    event = models.CharField("事件", max_length=16, choices=Event.choices)
    document = models.JSONField("快照")
    created_at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name = "修订快照"
        verbose_name_plural = "修订快照"
        ordering = ["report", "number"]
        constraints = [
            models.UniqueConstraint(fields=["report", "number"], name="revision_number_unique"),
            models.CheckConstraint(condition=Q(event__in=["submission", "publication"]), name="revision_event_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.report} 第{self.number}稿"


OUTCOME_GROUPS = 6  # table 三's outcome categories （一）…（六）, the same in every format


def _known_sum(values) -> int | None:
    known = [v for v in values if isinstance(v, int)]
    return sum(known) if known else None


def publication_figures(doc: dict) -> dict:
    """What /stats/ adds up, read once from the published document (ADR 0014)."""
    fmt = reg.get_format(doc["format"])
    apps, reviews = doc["applications"], doc["reviews"]
    groups: dict[str, list[str]] = {}
    for row in fmt.outcome_rows:
        groups.setdefault(row.groups[-1] if len(row.groups) > 1 else row.label, []).append(row.code)
    figures = {
        "received": apps["new_received"]["total"],
        "outcomes": apps["outcome_total"]["total"],
        "reconsideration": reviews["reconsideration"]["total"],
        "litigation": _known_sum([reviews["litigation_direct"]["total"], reviews["litigation_after"]["total"]]),
    }
    for i, rows in enumerate(list(groups.values())[:OUTCOME_GROUPS]):
        figures[f"outcome_{i + 1}"] = _known_sum(apps[r]["total"] for r in rows)
    return figures


def _figure(label: str) -> models.IntegerField:
    return models.IntegerField(label, null=True, blank=True)


class Publication(WriteOnce):
    """A published revision: its official PDF and JSON, rendered once, never changed."""

    report = models.ForeignKey(Report, on_delete=models.PROTECT, related_name="publications")
    number = models.PositiveIntegerField("公开版本")  # r1, r2… as the public sees them
    revision = models.OneToOneField(Revision, on_delete=models.PROTECT, related_name="publication")
    pdf = models.FileField(upload_to="published/")
    data = models.FileField(upload_to="published/")
    pdf_sha256 = models.CharField(max_length=64)
    data_sha256 = models.CharField(max_length=64)
    published_at = models.DateTimeField(auto_now_add=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # The published document's totals, so /stats/ is one aggregate query (ADR 0014).
    received = _figure("新收申请")
    outcomes = _figure("办理结果总计")
    reconsideration = _figure("行政复议")
    litigation = _figure("行政诉讼")
    outcome_1 = _figure("予以公开")
    outcome_2 = _figure("部分公开")
    outcome_3 = _figure("不予公开")
    outcome_4 = _figure("无法提供")
    outcome_5 = _figure("不予处理")
    outcome_6 = _figure("其他处理")

    class Meta:
        verbose_name = "已发布版本"
        verbose_name_plural = "已发布版本"
        ordering = ["report", "number"]
        constraints = [
            models.UniqueConstraint(fields=["report", "number"], name="publication_number_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.report} r{self.number}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is None and self.received is None and self.revision_id:
            for name, value in publication_figures(self.revision.document).items():
                setattr(self, name, value)
        super().save(*args, **kwargs)


class Comment(models.Model):
    """A reviewer's or clerk's comment anchored to a section, a part or a cell; threaded."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="comments")
    # A cell ref (applications.granted.total), narrative ref, or section code.
    anchor = models.CharField("位置", max_length=128)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    body = models.TextField("意见")
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "审核意见"
        verbose_name_plural = "审核意见"
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.anchor}: {self.body[:20]}"


class PendingImport(models.Model):
    """A parsed upload waiting for the clerk's confirmation (kept in the database,
    not the session, so a closed tab or an expired session loses nothing)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    filename = models.CharField(max_length=255)
    kind = models.CharField(max_length=16)
    document = models.JSONField()
    problems = models.JSONField(default=list)
    # How the file was read (encoding, pages, where title/organization came from,
    # mismatches with the office and year it lands in): shown in the preview.
    info = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "待确认的导入"
        verbose_name_plural = "待确认的导入"

    def __str__(self) -> str:
        return self.filename


class Job(models.Model):
    """Work done by a Celery worker (ADR 0009): its state, for every web node to read.

    The row is written before the task is queued (on commit), so a page can show
    a job the moment it is asked for; the worker moves it queued → running →
    succeeded or failed. Inputs and results that are files live in Django's
    default storage, never on one node's disk.
    """

    class Kind(models.TextChoices):
        READ_UPLOAD = "read_upload", "读取上传的报告"
        PUBLISH = "publish", "生成正式文本并发布"
        MAIL = "mail", "发送通知邮件"
        EXPORT = "export", "生成汇总表"
        REMIND = "remind", "截止提醒"
        YEAR_ZIP = "year_zip", "生成年度数据包"
        ARCHIVE = "archive", "导入历史报告包"

    class Status(models.TextChoices):
        QUEUED = "queued", "排队中"
        RUNNING = "running", "进行中"
        SUCCEEDED = "succeeded", "已完成"
        FAILED = "failed", "失败"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.QUEUED)
    # Jobs that the clock starts (reminders) carry a key, so a retried or doubled run does nothing twice.
    key = models.CharField(max_length=128, null=True, blank=True, unique=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs")
    report = models.ForeignKey(Report, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs")
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    input_file = models.FileField(upload_to="jobs/input/", blank=True)
    result_file = models.FileField(upload_to="jobs/result/", blank=True)
    error = models.TextField("失败原因", blank=True)
    attempts = models.PositiveSmallIntegerField("尝试次数", default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "后台任务"
        verbose_name_plural = "后台任务"
        ordering = ["-created_at"]
        constraints = [
            # Meta cannot see Kind and Status: their values, read back in tests/test_models.py.
            models.CheckConstraint(
                condition=Q(kind__in=["read_upload", "publish", "mail", "export", "remind", "year_zip", "archive"]),
                name="job_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "succeeded", "failed"]), name="job_status_valid"
            ),
            # A double click or two reviewers at once: one publication job per report at a time.
            models.UniqueConstraint(
                fields=["report"],
                condition=Q(kind="publish", status__in=["queued", "running"]),
                name="job_one_active_publish_per_report",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.get_status_display()}"

    @property
    def active(self) -> bool:
        return self.status in self.ACTIVE


class OutlierCheck(models.Model):
    """A supervisor's 已核实 mark on one flagged cell of one organization's year:
    the value was checked and is right, so it stops being flagged (issue 15)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="outlier_checks")
    year = models.PositiveSmallIntegerField("年度")
    cell = models.CharField("单元格", max_length=128)
    # The value that was checked: a later different value is flagged again.
    value = models.DecimalField("核实时的数值", max_digits=20, decimal_places=4, null=True, blank=True)
    note = models.TextField("核实说明")
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    checked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "已核实的异常值"
        verbose_name_plural = "已核实的异常值"
        constraints = [
            models.UniqueConstraint(fields=["organization", "year", "cell"], name="outlier_check_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.year} {self.cell}"


class CellFigure(models.Model):
    """The 总计 of one row of table 三 or 四 of a report, with the same cell's value
    last year and whether the two differ by a jump (issue 15's outlier checks).

    Derived from the report's rows when it is written (services.findings) and
    again when last year's report is, so the quality page reads flagged cells
    and peer figures from one narrow table instead of joining both years' rows.
    ``manage.py refresh_outliers`` derives them all again.
    """

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="cell_figures")
    year = models.PositiveSmallIntegerField("年度")
    section = models.CharField("表", max_length=16)
    key = models.CharField("行", max_length=32)
    value = models.IntegerField("总计")
    previous = models.IntegerField("上年总计", null=True, blank=True)
    jump = models.BooleanField("与上年相比异常", default=False)

    class Meta:
        verbose_name = "异常值核查数据"
        verbose_name_plural = "异常值核查数据"
        constraints = [
            models.UniqueConstraint(fields=["report", "section", "key"], name="cell_figure_unique"),
        ]
        indexes = [
            # Peer outliers: a range of values above a threshold, per cell.
            models.Index(fields=["year", "section", "key", "value"], name="cell_figure_peer_idx"),
            # History outliers: the few jumps of a year.
            models.Index(fields=["year"], condition=Q(jump=True), name="cell_figure_jump_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.report_id} {self.section}.{self.key}"
