"""A worker that serves pages does not carry the libraries of rare tasks (issue 11: worker
peak RSS ≤ 100 MiB). fpdf2 (~19 MiB), pypdf (~17 MiB) and zxcvbn (~12 MiB) load on first
use: drawing a notice, reading one, setting a password; rfc3161-client (~2 MiB) when a
time-stamp token is made or read; ua_parser with yaml (~2 MiB) at sign-in; segno (~1 MiB)
for a QR code; tqdm and the seeder's process pool (multiprocessing, concurrent.futures)
only in `dsure-portal seed` or a split `audit verify`."""
import subprocess
import sys
import textwrap

RARE = ("fpdf", "pypdf", "zxcvbn", "rfc3161_client", "ua_parser", "yaml", "segno", "tqdm",
        "multiprocessing")


def test_the_app_starts_without_the_libraries_of_rare_tasks(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        from dsure_portal import create_app
        create_app({{"INSTANCE_PATH": {str(tmp_path)!r},
                     "DATABASE_URL": "sqlite:///{tmp_path}/portal.db",
                     "SECRET_KEY": "s" * 40, "KEY_PEPPER": "p" * 40}})
        print(",".join(sorted(name for name in {RARE!r} if name in sys.modules)))
    """)
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == ""

