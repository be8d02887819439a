"""User administration for system admins: list, create, and one page per user
whose forms each call one `accounts.services.users` function."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from audit.context import Actor
from portal import keyset
from portal.keyset import Ordering

from ..forms import UserCreateForm, UserEmailForm, UserPasswordForm, UserSearchForm, apply_validation_error
from ..services import users as user_services
from .http import HtmxHttpRequest, render_page, system_admin_required

User = get_user_model()
USERS_PER_PAGE = 50
# By username, by cursor (`portal.keyset`) through the unique username index.
USER_ORDERING = Ordering("username", ("username",))


@system_admin_required
def user_list(request: HtmxHttpRequest) -> HttpResponse:
    form = UserSearchForm(request.GET)
    q = form.cleaned_data["q"] if form.is_valid() else ""
    users = User.objects.all()
    if q:
        users = users.filter(Q(username__icontains=q) | Q(email__icontains=q))
    listed = keyset.page_context(users, USER_ORDERING, request.GET, USERS_PER_PAGE)
    context = listed | {"nav": "users", "form": form}
    return render_page(request, "accounts/user_list.html", "table", context)


def _show_password_once(request: HtmxHttpRequest, username: str, password: str) -> None:
    # A "secret" message holds only the secret; the template labels it and adds a copy button.
    messages.success(request, password, extra_tags=f"secret new-password-of-{username}")


@system_admin_required
@require_http_methods(["GET", "POST"])
def user_create(request: HtmxHttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        generated = not data["password"]
        password = data["password"] or user_services.generate_password()
        try:
            user = user_services.create_user(
                actor=Actor.from_request(request),
                username=data["username"],
                email=data["email"],
                password=password,
                is_superuser=data["is_superuser"],
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("User %(username)s created.") % {"username": user.username})
            if generated:
                _show_password_once(request, user.username, password)
            return redirect("accounts:user_detail", user.pk)
    return render(request, "accounts/user_create.html", {"nav": "users", "form": form})


def _render_detail(request: HtmxHttpRequest, account: Any, **forms: Any) -> HttpResponse:
    context = {
        "nav": "users",
        "account": account,
        "email_form": forms.get("email_form") or UserEmailForm(initial={"email": account.email}),
        "password_form": forms.get("password_form") or UserPasswordForm(),
        "is_self": account.pk == request.user.pk,
    }
    return render(request, "accounts/user_detail.html", context)


@system_admin_required
def user_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, get_object_or_404(User, pk=pk))


@system_admin_required
@require_POST
def user_set_active(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(User, pk=pk)
    active = request.POST.get("active") == "1"
    try:
        user_services.set_active(account, actor=Actor.from_request(request), active=active)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        text = _("%(username)s is active.") if active else _("%(username)s is deactivated.")
        messages.success(request, text % {"username": account.username})
    return redirect("accounts:user_detail", account.pk)


@system_admin_required
@require_POST
def user_set_admin(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(User, pk=pk)
    admin = request.POST.get("admin") == "1"
    try:
        user_services.set_system_admin(account, actor=Actor.from_request(request), admin=admin)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        verb = "is now a system admin" if admin else "is no longer a system admin"
        messages.success(request, f"{account.username} {verb}.")
    return redirect("accounts:user_detail", account.pk)


@system_admin_required
@require_POST
def user_set_password(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(User, pk=pk)
    form = UserPasswordForm(request.POST)
    if form.is_valid():
        generated = not form.cleaned_data["password"]
        password = form.cleaned_data["password"] or user_services.generate_password()
        try:
            user_services.set_password(account, actor=Actor.from_request(request), password=password)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(
                request, _("The password of %(username)s was reset.") % {"username": account.username}
            )
            if generated:
                _show_password_once(request, account.username, password)
            return redirect("accounts:user_detail", account.pk)
    return _render_detail(request, account, password_form=form)


@system_admin_required
@require_POST
def user_set_email(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(User, pk=pk)
    form = UserEmailForm(request.POST)
    if form.is_valid():
        try:
            user_services.update_user(
                account, actor=Actor.from_request(request), email=form.cleaned_data["email"]
            )
        except ValidationError as exc:
            account.refresh_from_db()
            apply_validation_error(form, exc)
        else:
            messages.success(
                request, _("The e-mail address of %(username)s was saved.") % {"username": account.username}
            )
            return redirect("accounts:user_detail", account.pk)
    return _render_detail(request, account, email_form=form)
