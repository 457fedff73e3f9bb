#!/usr/bin/env bash
# Builds a tiny consumer against an installed libami twice: with CMake's
# find_package(ami) and with pkg-config; checks the programs, their man
# pages and the public headers are installed.
set -euo pipefail
prefix=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/main.c" <<'C'
#include <ami/ami.h>
#include <stdio.h>
int main(void)
{
    ami_action *a;
    if (ami_action_create(&a, "Ping") != 0)
        return 1;
    printf("libami %s ok\n", ami_version());
    ami_action_free(a);
    return 0;
}
C
cat > "$work/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.16)
project(consumer C)
find_package(ami REQUIRED)
add_executable(consumer main.c)
target_link_libraries(consumer PRIVATE ami::ami)
CM
cmake -S "$work" -B "$work/b" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/b" >/dev/null
LD_LIBRARY_PATH="$prefix/lib:${LD_LIBRARY_PATH:-}" "$work/b/consumer"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
cc "$work/main.c" -o "$work/pc" $(pkg-config --cflags --libs ami)
LD_LIBRARY_PATH="$prefix/lib" "$work/pc"
# Every program has its man page, and the public headers are all there.
for page in ami ami-sim; do
    [[ -f "$prefix/share/man/man1/$page.1" ]] || { echo "check-install: no man page $page.1" >&2; exit 1; }
    [[ -x "$prefix/bin/$page" ]] || { echo "check-install: no program $page" >&2; exit 1; }
done
for h in ami.h client.h async.h login.h tls.h; do
    [[ -f "$prefix/include/ami/$h" ]] || { echo "check-install: no header ami/$h" >&2; exit 1; }
done
echo "check-install: programs, man pages and headers installed"
