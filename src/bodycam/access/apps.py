from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "bodycam.access"
    label = "access"

    def ready(self):
        # A wrong group=role mapping stops the server at start-up, not at someone's sign-in.
        from django.conf import settings

        from .directory import parse_group_roles

        parse_group_roles(settings.LDAP_GROUP_ROLES, "BODYCAM_LDAP_GROUP_ROLES")
        parse_group_roles(settings.OIDC_GROUP_ROLES, "BODYCAM_OIDC_GROUP_ROLES")
