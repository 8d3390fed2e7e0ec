from django.core.management.base import BaseCommand

from crds_server.ops import nightly


class Command(BaseCommand):
    help = ("Run the nightly checks: configuration, disk usage, cache consistency (sizes, a sha1 "
            "sample, orphans), pending deliveries; print the report and mail it to the operators.")

    def add_arguments(self, parser):
        parser.add_argument("--sample", type=int, default=200, help="files whose sha1 is checked")
        parser.add_argument("--no-mail", action="store_true", help="print only")

    def handle(self, *args, sample, no_mail, **options):
        ok, text = nightly.nightly(sha1_sample=sample)
        self.stdout.write(text)
        if not no_mail:
            nightly.mail(ok, text)
        if not ok:
            self.stderr.write("The nightly checks found problems.")
