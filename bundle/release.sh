#!/usr/bin/env bash
# The release files in one command: the universal, signed app (bundle/make-app.sh, which reads
# BTW_SIGN_IDENTITY and BTW_NOTARY_PROFILE), then its disk image (bundle/make-dmg.sh), both in
# target/bundle and named with Cargo.toml's version. The release workflow runs this.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$here/make-app.sh"
"$here/make-dmg.sh"
