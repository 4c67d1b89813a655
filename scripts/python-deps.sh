#!/usr/bin/env bash
# The Python packages the interoperability tests use beyond the standard
# library: aiosmtpd, the real SMTP server `smtp_send` is tested against
# (tests/smtp.rs). Installed when missing — pip, then pip past an
# externally managed system Python (PEP 668), then Debian's package — and
# a failure to get it fails the script.
set -euo pipefail
have() { python3 -c 'import aiosmtpd' 2>/dev/null; }
if ! have; then
  python3 -m pip install --quiet aiosmtpd 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages aiosmtpd 2>/dev/null \
    || { command -v apt-get >/dev/null 2>&1 \
         && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-aiosmtpd; } \
    || true
fi
python3 -c 'import aiosmtpd; print("aiosmtpd", aiosmtpd.__version__)'
