# Sourced by images.sh and compose-test.sh: podman, the container engine this machine can run
# (no Docker daemon), with the settings it needs here (docker/podman/containers.conf).

export CONTAINERS_CONF="$PWD/docker/podman/containers.conf"

# podman and runc, and debootstrap for the base image, from Debian's packages when missing.
ensure_podman() {
    command -v podman >/dev/null && command -v runc >/dev/null && command -v debootstrap >/dev/null \
        && return
    echo "$(basename "$0"): installing podman, runc and debootstrap with apt-get" >&2
    local sudo_cmd=""
    [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q podman runc debootstrap >/dev/null
}
