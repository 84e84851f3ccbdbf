"""Reads of what belongs to an account: its API tokens, its display preferences (Profile) and
its professional profile."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import QuerySet

from locker.infra.rows import column_count, prepared, row_instance, select_list, table
from locker.models import ApiToken, ProfessionalProfile, Profile


def tokens_of(user: Any) -> QuerySet[ApiToken]:
    """Every token the user was issued, revoked ones included."""
    return ApiToken.objects.filter(user=user)


@cache
def _live_token_statement() -> str:
    user_model = get_user_model()
    # Names from the models' fields; the values are parameters.
    columns = f"{select_list(ApiToken, 't')}, {select_list(user_model, 'u')}"
    return (
        f"SELECT {columns} FROM {table(ApiToken)} t "  # noqa: S608
        f'JOIN {table(user_model)} u ON u."id" = t."user_id" '
        'WHERE t."token_hash" = %s AND t."revoked_at" IS NULL AND t."expires_at" > %s '
        'AND u."is_active"'
    )


def live_token(token_hash: str, now: datetime) -> ApiToken | None:
    """The token with this hash, with its user, if it is not revoked, has not expired at
    `now` and its user is active. Read on every API call: one statement written once
    (locker/infra/rows.py), not a query the ORM builds each time."""
    with connection.cursor() as cursor:
        cursor.execute(_live_token_statement(), [token_hash, prepared(ApiToken, "expires_at", now)])
        row = cursor.fetchone()
    if row is None:
        return None
    token = row_instance(ApiToken, row)
    token.user = row_instance(get_user_model(), row, column_count(ApiToken))
    return token


def token_of(user: Any, token_id: int) -> ApiToken | None:
    """The user's token with this id; None for another person's token, as for none."""
    return ApiToken.objects.filter(pk=token_id, user=user).first()


def professional_profile_of(user: Any) -> ProfessionalProfile | None:
    return ProfessionalProfile.objects.filter(user=user).first()


def preferences_of(user: Any) -> Profile | None:
    """The user's profile (given the user or their id), or None if they never saved one."""
    return Profile.objects.filter(user=user).first()
