from django.core.management.base import BaseCommand, CommandError

from crds_server.security.actions import (
    PipelineKeyError,
    create_pipeline_key,
    list_pipeline_keys,
    revoke_pipeline_key,
)


class Command(BaseCommand):
    help = ("Create a pipeline's secret key for `crds sync --push-context KEY` (printed once), "
            "revoke a pipeline's key, or list every key.")

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="print a new key for PIPELINE")
        create.add_argument("pipeline")
        create.add_argument("--replace", action="store_true",
                            help="revoke the pipeline's active key and make a new one")
        create.add_argument("--user", default="operator", help="the operator named in the record")
        revoke = actions.add_parser("revoke", help="revoke PIPELINE's active key")
        revoke.add_argument("pipeline")
        revoke.add_argument("--user", default="operator", help="the operator named in the record")
        actions.add_parser("list", help="list pipelines, their key's state and last use")

    def handle(self, *args, action, **options):
        try:
            if action == "create":
                self.stdout.write(create_pipeline_key(options["user"], options["pipeline"],
                                                      replace=options["replace"]))
            elif action == "revoke":
                revoke_pipeline_key(options["user"], options["pipeline"])
                self.stdout.write(f"Revoked the key of pipeline '{options['pipeline']}'.")
            else:
                self._list()
        except PipelineKeyError as exc:
            raise CommandError(str(exc)) from exc

    def _list(self) -> None:
        for key in list_pipeline_keys():
            state = f"revoked {key.revoked:%Y-%m-%d %H:%M} by {key.revoked_by}" if key.revoked else "active"
            used = f"{key.last_used:%Y-%m-%d %H:%M}" if key.last_used else "never"
            self.stdout.write(f"{key.pipeline}  {state}  created {key.created:%Y-%m-%d %H:%M} by "
                              f"{key.created_by}  last used {used}")
