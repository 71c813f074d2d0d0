#!/bin/sh
# Install the Debian 12 packages ownerbind needs to build and test, and only
# those that are missing.  Sourced by scripts/quickstart and scripts/test.
# Every package is named in README.md ("Dependencies") with its reason.
OB_PACKAGES="
build-essential cmake pkg-config
openssl libssl-dev libjansson-dev libsqlite3-dev
libcmocka-dev
libevent-dev libcurl4-openssl-dev curl
libhiredis-dev redis-server
p11-kit libp11-kit-dev softhsm2 opensc
libtss2-dev swtpm swtpm-tools tpm2-tools
libfido2-dev libcbor-dev fido2-tools
libpcsclite-dev pcscd vsmartcard-vpcd yubico-piv-tool
python3 python3-jwcrypto python3-fido2 python3-cryptography tpm2-openssl
chromium chromium-driver python3-websocket
clang libclang-rt-14-dev cppcheck shellcheck libseccomp-dev
udev
"

ob_install_deps() {
	missing=""
	for p in $OB_PACKAGES; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q "install ok installed"; then
			missing="$missing $p"
		fi
	done
	[ -z "$missing" ] && return 0
	echo "ownerbind: installing:$missing" >&2
	if [ "$(id -u)" != 0 ]; then
		echo "ownerbind: run as root (or install these packages first)" >&2
		return 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null || return 1
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing >/dev/null || return 1
}

ob_build() {
	# $1: build directory, rest: extra cmake arguments
	dir=$1
	shift
	cmake -S "$OB_TOP" -B "$dir" "$@" >/dev/null || return 1
	cmake --build "$dir" -j"$(nproc)" ${OB_BUILD_TARGETS:+--target $OB_BUILD_TARGETS} ||
	    return 1
}
