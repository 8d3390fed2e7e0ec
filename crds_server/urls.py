"""URL routes.  Everything lives under one prefix-free tree (contract §1.1)."""

from django.contrib import admin
from django.urls import path, re_path

from crds_server.rpc import views as rpc_views
from crds_server.web import files, views

urlpatterns = [
    path("", views.home, name="web-home"),
    path("health", views.health, name="web-health"),
    re_path(r"^json/?$", rpc_views.endpoint, name="rpc-endpoint"),
    re_path(r"^json/.+$", rpc_views.endpoint, name="rpc-endpoint-logged"),
    re_path(
        r"^unchecked_get/(?P<kind>mappings|references|config|pickles)/(?P<observatory>[a-z]{1,8})/"
        r"(?P<name>[^/]+)$",
        files.unchecked_get,
        name="web-unchecked-get",
    ),
    re_path(r"^get/(?P<name>[^/]+)$", files.checked_get, name="web-get"),
    path("admin/", admin.site.urls),
]
