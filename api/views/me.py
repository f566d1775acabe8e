"""Who the caller is, as the API sees them."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from api.base import ApiView
from customers.permissions import user_can_reveal_personal_data


class MeApi(ApiView):
    """The authenticated user, their role and branch, and whether they may reveal personal data."""

    class MeOutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        username = serializers.CharField()
        name = serializers.CharField()
        role = serializers.CharField()
        branch_code = serializers.CharField(allow_null=True)
        can_reveal_personal_data = serializers.BooleanField()
        via_token = serializers.BooleanField()

    @extend_schema(tags=["me"], responses=MeOutputSerializer, operation_id="me_retrieve")
    def get(self, request):
        user = request.user
        return Response(self.MeOutputSerializer({
            "id": user.pk,
            "username": user.get_username(),
            "name": str(user),
            "role": user.role,
            "branch_code": user.branch.code if user.branch_id else None,
            "can_reveal_personal_data": user_can_reveal_personal_data(user),
            "via_token": request.auth is not None and not isinstance(request.auth, str | bytes),
        }).data)
