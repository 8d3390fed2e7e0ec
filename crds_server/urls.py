"""URL routes.  Everything lives under one prefix-free tree (contract §1.1)."""

from django.contrib import admin
from django.urls import path, re_path

from crds_server.ops import views as ops_views
from crds_server.rpc import views as rpc_views
from crds_server.web import (
    admin_site,
    affected_pages,
    auth,
    bestrefs_pages,
    browse,
    context_pages,
    files,
    legacy,
    operator_pages,
    pipeline_pages,
    redcat,
    submit,
    uploads,
    versions_pages,
    views,
)

urlpatterns = [
    path("", views.home, name="web-home"),
    path("health", views.health, name="web-health"),
    path("backup/latest", ops_views.latest_backup, name="ops-backup-latest"),
    path("recent_activity/", views.recent_activity, name="web-recent-activity"),
    re_path(r"^json/?$", rpc_views.endpoint, name="rpc-endpoint"),
    re_path(r"^json/[\s\S]+$", rpc_views.endpoint, name="rpc-endpoint-logged"),  # any path, even %0A
    re_path(
        r"^unchecked_get/(?P<kind>mappings|references|config|pickles)/(?P<observatory>[a-z]{1,8})/"
        r"(?P<name>[^/]+)$",
        files.unchecked_get,
        name="web-unchecked-get",
    ),
    re_path(r"^get/(?P<name>[^/]+)$", files.checked_get, name="web-get"),
    path("login/", auth.login_view, name="web-login"),
    path("logout/", auth.logout_view, name="web-logout"),
    path("lock_status/<str:username>/", auth.lock_status, name="web-lock-status"),
    path("upload/chunked/", uploads.chunked, name="web-upload-chunked"),
    path("upload/list/", uploads.listing, name="web-upload-list"),
    path("upload/delete/<str:name>", uploads.delete, name="web-upload-delete"),
    re_path(r"^jpoll/open_channel/?$", uploads.open_channel, name="web-jpoll-open"),
    path("upload/", uploads.page, name="web-upload"),
    path("certify/", submit.certify, name="web-certify"),
    path("batch_submit_references/", submit.batch_submit, name="web-batch-submit"),
    path("submit/reference/", submit.submit_references, name="web-submit-references"),
    path("submit/mapping/", submit.submit_mappings, name="web-submit-mappings"),
    path("delete/reference/", submit.delete_references, name="web-delete-references"),
    path("add_existing/reference/", submit.add_references, name="web-add-references"),
    path("submission_form/redcat_submit/", redcat.redcat_submit, name="web-redcat-submit"),
    path("submission_form/redcat_description.yml", redcat.redcat_description,
         name="web-redcat-description"),
    path("display_result/<uuid:results_id>", submit.display_result, name="web-display-result"),
    path("submit_confirm_pipeline/", submit.confirm, name="web-confirm"),
    path("submissions/", submit.history, name="web-submissions"),
    path("browse/", browse.browse, name="web-browse"),
    path("browse/<str:name>", browse.details, name="web-file-details"),
    path("context_history/", context_pages.context_history, name="web-context-history"),
    path("contexts/", context_pages.all_contexts, name="web-contexts"),
    path("context_table/<str:pmap>", context_pages.context_table, name="web-context-table"),
    path("diff/", context_pages.diff_form, name="web-diff-form"),
    path("diff/<str:old>/<str:new>", context_pages.difference, name="web-diff"),
    path("build_contexts/", context_pages.build_contexts, name="web-build-contexts"),
    path("help/", context_pages.help_page, name="web-help"),
    path("bestrefs/", bestrefs_pages.bestrefs_page, name="web-bestrefs"),
    path("affected/", affected_pages.affected_list, name="web-affected"),
    path("affected/<str:old>/<str:new>", affected_pages.affected_detail, name="web-affected-run"),
    path("set_context/", operator_pages.set_context, name="web-set-context"),
    path("mark_bad/", operator_pages.mark_bad, name="web-mark-bad"),
    path("locks/", operator_pages.lock_list, name="web-locks"),
    path("deliveries/", operator_pages.delivery_list, name="web-deliveries"),
    path("pipelines/", pipeline_pages.pipeline_echo, name="web-pipelines"),
    path("versions/", versions_pages.package_versions, name="web-versions"),
    # Old addresses of STScI's site (bookmarks, issues, the crds client's messages): 301.
    re_path(r"^(?P<old>display_build_contexts|display_context_history|display_all_contexts)/?$",
            legacy.page, name="web-legacy-page"),
    re_path(r"^docs/(?P<path>.{0,256})$", legacy.guide, name="web-legacy-docs"),
    re_path(r"^static/users_guide/(?P<path>.{0,256})$", legacy.guide, name="web-legacy-guide"),
    re_path(r"^static/users_guide$", legacy.guide, name="web-legacy-guide-top"),
    # The admin's own login and logout would skip the instrument lock and its release.
    path("admin/login/", admin_site.login, name="web-admin-login"),
    path("admin/logout/", admin_site.logout, name="web-admin-logout"),
    re_path(r"^static/admin/(?P<path>.{1,256})$", admin_site.static, name="web-admin-static"),
    path("admin/", admin.site.urls),
]
