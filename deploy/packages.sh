# packages.sh -- sourced by the deploy scripts: install Debian packages, only those missing.
#
#   ensure_packages PKG...   apt-get installs the ones dpkg does not know as installed
#                            (one apt-get update, only when something is missing).

ensure_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$p")
    done
    [[ ${#missing[@]} -gt 0 ]] || return 0
    printf '\n== installing %s\n' "${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}
