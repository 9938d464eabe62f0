"""Admin for organizations, memberships, reports (computed cells read-only)."""

from django.contrib import admin, messages
from django.db import transaction

from . import services
from .models import (
    ActiveDisclosureRow,
    ApplicationRow,
    AuditEvent,
    Job,
    Membership,
    NarrativePart,
    Organization,
    Report,
    ReviewRow,
)
from .rules import check_document
from .selectors import export_report
from .services.findings import (
    store_next_year_findings,
    store_organization_findings,
    with_hierarchy,
)
from .services.rollup import RollupRefused, set_report_scope

admin.site.site_header = "政府信息公开工作年度报告 管理后台"
admin.site.site_title = "年度报告管理"
admin.site.index_title = "管理"


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "kind", "report_scope", "parent"]
    list_filter = ["kind", "report_scope", "parent"]
    search_fields = ["name", "code"]
    autocomplete_fields = ["parent"]
    inlines = [MembershipInline]

    def save_model(self, request, obj, form, change):
        # What a government's report covers goes through its service: audited, checked,
        # and the hierarchy rules' stored counts follow (ADR 0016).
        wanted = obj.report_scope
        before = Organization.objects.filter(pk=obj.pk).first() if obj.pk is not None else None
        obj.report_scope = before.report_scope if before is not None else Organization.Scope.OWN
        super().save_model(request, obj, form, change)
        if before is None or before.parent_id != obj.parent_id or before.kind != obj.kind:
            # Created, moved or re-typed: the 汇总 governments above its old and new place
            # have other inputs now, and a re-typed one's own reports other rules.
            _recheck_placement(obj, before)
        if wanted != obj.report_scope:
            try:
                set_report_scope(obj, wanted, actor=request.user)
            except RollupRefused as exc:
                messages.error(request, exc.message)
            else:
                obj.report_scope = wanted


def _recheck_placement(org: Organization, before: Organization | None) -> None:
    from .jurisdiction.rollup import covering_government_ids

    def recheck() -> None:
        governments = set(covering_government_ids(org))
        if before is not None:
            governments |= set(covering_government_ids(before))  # the old place's ancestors
        for government in Organization.objects.filter(pk__in=governments):
            store_organization_findings(government)
        if before is not None and before.kind != org.kind:
            store_organization_findings(org)

    transaction.on_commit(recheck, robust=True)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role"]
    list_filter = ["role"]
    search_fields = ["user__username", "organization__name"]
    autocomplete_fields = ["user", "organization"]


def content_editable(report: Report | None) -> bool:
    """Report content changes in the admin only while it is a draft (or returned):
    a submitted, approved or published report is corrected through the workflow."""
    return report is None or report.status in services.EDITABLE_STATUSES


class FixedRowsInline(admin.TabularInline):
    """Rows are fixed by the format registry: no adding or deleting."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return content_editable(obj) and super().has_change_permission(request, obj)


class NarrativeInline(FixedRowsInline):
    model = NarrativePart
    fields = ["path", "text"]
    readonly_fields = ["path"]


class ActiveDisclosureInline(FixedRowsInline):
    model = ActiveDisclosureRow
    readonly_fields = ["subtable", "row"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["subtable", "row"]
        columns = []
        for table in obj.spec.active_disclosure:
            columns += [c.code for c in table.columns if c.code not in columns]
        return ["subtable", "row", *columns]


class ApplicationInline(FixedRowsInline):
    model = ApplicationRow
    readonly_fields = ["row", "total"]
    fields = [
        "row",
        "natural_person",
        "commercial",
        "research",
        "social_welfare",
        "legal_service",
        "other_org",
        "total",
    ]

    def get_queryset(self, request):
        # （七）总计 is computed: shown on the report, never edited.
        return super().get_queryset(request).exclude(row="outcome_total")


class ReviewInline(FixedRowsInline):
    model = ReviewRow
    readonly_fields = ["block", "total"]
    fields = ["block", "upheld", "corrected", "other", "pending", "total"]


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ["organization", "year", "format", "status", "updated_at"]
    list_filter = ["year", "status", "format"]
    search_fields = ["organization__name", "organization__code", "title"]
    autocomplete_fields = ["organization"]
    # Status changes only through the workflow (audited, with its checks).
    readonly_fields = ["format", "status", "version", "outcome_total", "findings", "created_at", "updated_at"]
    inlines = [NarrativeInline, ActiveDisclosureInline, ApplicationInline, ReviewInline]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["organization", "year"]  # the service fills in the rest
        return super().get_fields(request, obj)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def delete_model(self, request, obj) -> None:
        super().delete_model(request, obj)
        # Next year's report compared itself with this one (cross-year rules, outlier figures).
        transaction.on_commit(lambda: store_next_year_findings(obj), robust=True)

    def delete_queryset(self, request, queryset) -> None:
        deleted = list(queryset)
        super().delete_queryset(request, queryset)
        transaction.on_commit(lambda: [store_next_year_findings(r) for r in deleted], robust=True)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting is the largest content change: drafts only, never one under review or published.
        if obj is not None and (not content_editable(obj) or obj.publications.exists()):
            return False
        return super().has_delete_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields += ["organization", "year"]
        if not content_editable(obj):
            editable = [f.name for f in Report._meta.fields if f.editable and f.name != "id"]
            fields += [name for name in editable if name not in fields]
        return fields

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, admin.utils.unquote(object_id))
        if obj is not None and not content_editable(obj) and request.method == "GET":
            messages.info(
                request,
                f"报告{obj.get_status_display()}，内容在此只读；如需更正，请由填报人通过“更正”或由审核人“退回修改”后修改。",
            )
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="（七）总计")
    def outcome_total(self, obj):
        row = obj.application_rows.filter(row="outcome_total").first()
        if row is None:
            return "-"
        spec = obj.spec
        return "；".join(f"{c.label} {getattr(row, c.code)}" for c in spec.applications_columns)

    @admin.display(description="校验结果")
    def findings(self, obj):
        doc = export_report(obj)
        found = with_hierarchy(obj, check_document(doc), doc)
        if not found:
            return "无问题"
        return "\n".join(f"[{f.severity}] {f.message}" for f in found)

    def save_model(self, request, obj, form, change):
        if obj.pk is not None and not content_editable(Report.objects.get(pk=obj.pk)):
            # Every field is read-only then; nothing of the content may change here.
            return
        if obj.pk is None:
            # New reports get their format and fixed rows from the service.
            report = services.create_report(obj.organization, obj.year, actor=request.user)
            obj.pk = report.pk
            obj._state.adding = False
            obj.format = report.format
            obj.version = report.version
            obj.created_at = report.created_at
            if not obj.organization_name:
                obj.organization_name = report.organization_name
            if not obj.title:
                obj.title = report.title
        request._report_before = export_report(Report.objects.get(pk=obj.pk))
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        # A locked report's inlines are read-only: saving them writes nothing.
        super().save_related(request, form, formsets, change)
        if not hasattr(request, "_report_before"):
            return  # a locked report: save_model wrote nothing either
        services.finish_admin_edit(form.instance, request._report_before, actor=request.user)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written only by the application: shown, never edited here."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "action", "actor", "organization", "report"]
    list_filter = ["action"]
    search_fields = ["action", "organization__name"]
    readonly_fields = ["created_at", "action", "actor", "organization", "report", "data"]


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "status", "actor", "organization", "report", "attempts", "error"]
    list_filter = ["kind", "status"]
    search_fields = ["organization__name", "error"]
    list_select_related = ["actor", "organization", "report"]
    # Not params, result or files: a mail job's result can hold a password reset link until sent.
    fields = ["kind", "status", "actor", "organization", "report", "attempts", "error", "created_at", "finished_at"]
    readonly_fields = fields
