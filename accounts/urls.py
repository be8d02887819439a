"""Page URLs of the accounts app."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from portal.language_views import language_update

from .views import robots, teams, tokens, users

app_name = "accounts"
urlpatterns: list[URLPattern | URLResolver] = [
    path("users/", users.user_list, name="users"),
    path("users/new/", users.user_create, name="user_create"),
    path("users/<int:pk>/", users.user_detail, name="user_detail"),
    path("users/<int:pk>/active/", users.user_set_active, name="user_set_active"),
    path("users/<int:pk>/admin/", users.user_set_admin, name="user_set_admin"),
    path("users/<int:pk>/password/", users.user_set_password, name="user_set_password"),
    path("users/<int:pk>/email/", users.user_set_email, name="user_set_email"),
    path("teams/", teams.team_list, name="teams"),
    path("teams/<int:pk>/", teams.team_detail, name="team_detail"),
    path("teams/<int:pk>/edit/", teams.team_update, name="team_update"),
    path("teams/<int:pk>/delete/", teams.team_delete, name="team_delete"),
    path("teams/<int:team_id>/members/add/", teams.team_member_add, name="team_member_add"),
    path("teams/<int:team_id>/members/<int:pk>/remove/", teams.team_member_remove, name="team_member_remove"),
    path("account/language/", language_update, name="language"),
    path("account/tokens/", tokens.token_list, name="tokens"),
    path("account/tokens/<int:pk>/revoke/", tokens.token_revoke, name="token_revoke"),
    path("robots/", robots.robot_list, name="robots"),
    path("robots/<int:pk>/enabled/", robots.robot_enabled, name="robot_enabled"),
    path("robots/<int:pk>/regenerate/", robots.robot_regenerate, name="robot_regenerate"),
    path("robots/<int:pk>/delete/", robots.robot_delete, name="robot_delete"),
]
