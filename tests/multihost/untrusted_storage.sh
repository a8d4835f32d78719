#!/usr/bin/env bash
# Issue 10: shared storage is untrusted. On a bed of 2 hosts, host 2 (standing for another
# host's root or a tenant of the export) tampers with what host 1's root-run hook relies on:
#   1. it edits the shared base in place through its mount and puts its size and mtime back,
#      and replaces the base's usage folder by a link to a folder outside the volume;
#      host 1's next start must notice the change (its record, kept on host 1, no longer
#      matches: ctime), load the base again from its source, write nothing behind the link,
#      and run shared on the reloaded base;
#   2. it puts a FIFO where the base's lock file is; host 1's next start must not hang on it:
#      the shared attempt is refused at once and the guest starts on a host-local copy.
#
#   tests/multihost/untrusted_storage.sh SOURCE_DIR BUILD_DIR
set -euo pipefail

if [[ "${1:-}" != --inside ]]; then
    # shellcheck source=lib.sh
    source "$(dirname "$0")/lib.sh"
    mh_outer_begin "${1:-}" "${2:-}" /tmp/appshare-mh-untrusted
    mh_demo_bundle
    mh_conf "$work/appshare.conf" "lock_wait_seconds = 30" "allowed_source_dirs = [\"$work/bundle/images\"]"
    mkdir -p "$work/victim"
    mh_run_bed 2
    [[ -z "$(ls -A "$work/victim")" ]] || fail "files were written behind the planted link: $(ls -A "$work/victim")"
    shell_test_end "an in-place edit with its mtime put back was noticed and reloaded, nothing was written behind a planted link, and a FIFO lock file did not hang the start."
    exit 0
fi

# ---- inside the bed ----
[[ "${1:-}" == --inside ]] || exit 2
trap - EXIT
work="$2"
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
shell_test_name=$(basename "$0")
set +e
read -r h1 h2 _ <<<"$APPSHARE_BED_HOSTS"
bundle="$work/bundle"
digest=$(sed -n '/<image /,/<\/image>/s:.*<sha256>\([0-9a-f]*\)</sha256>.*:\1:p' "$bundle/appliance.xml")
[[ "$digest" =~ ^[0-9a-f]{64}$ ]] || { ifail "no base digest in the bundle's manifest"; exit 1; }
base="$digest.qcow2"

install_lazy "$h1" tamper-1 "$bundle" || exit 1
start_domain "$h1" tamper-1
((start_rc == 0)) || { ifail "the first start on $h1 failed: $start_out"; show_log_since "$h1" 0; exit 1; }
on-host "$h1" virsh -q destroy tamper-1 >/dev/null 2>&1 || true
on-host "$h1" test -f "$LOCAL/verified-shared/$base.verified" ||
    ifail "$h1 keeps no verification record of $base under $LOCAL/verified-shared"
[[ ! -e "$APPSHARE_BED_BRICK/$base.verified" ]] || ifail "a verification record lies next to the base on the volume"

# 1. In-place edit through host 2's mount, size and mtime put back; usage/<sha> becomes a link.
size=$(stat -c %s "$APPSHARE_BED_BRICK/$base")
offset=$((size / 2))
on-host "$h2" sh -c "
    set -e
    f='$SHARED/$base'
    stamp=\$(stat -c %y \"\$f\")
    chmod u+w \"\$f\"
    printf '\\377' | dd of=\"\$f\" bs=1 seek=$offset conv=notrunc status=none
    chmod 0444 \"\$f\"
    touch -d \"\$stamp\" \"\$f\"
    rm -rf '$SHARED/usage/$digest'
    ln -s '$work/victim' '$SHARED/usage/$digest'
" || ifail "host 2 could not tamper with the volume"
sum=$(sha256sum <"$APPSHARE_BED_BRICK/$base" | cut -d' ' -f1)
[[ "$sum" != "$digest" && $(stat -c %s "$APPSHARE_BED_BRICK/$base") -eq $size ]] || ifail "the edit did not reach the brick"
say "host 2 changed byte $offset of the base, put size and mtime back, and linked usage/$digest to $work/victim"

mark=$(log_lines "$h1")
start_domain "$h1" tamper-1
say "virsh start tamper-1 on $h1 returned $start_rc after $start_ms ms"
((start_rc == 0)) || ifail "the start on $h1 after the edit failed: $start_out"
log_since "$h1" "$mark" | grep -q "changed since this host verified it" ||
    { ifail "$h1's hook log does not say the base changed since it verified it"; show_log_since "$h1" "$mark"; }
log_since "$h1" "$mark" | grep -q -i "damaged" || { ifail "$h1's hook did not find the base damaged"; show_log_since "$h1" "$mark"; }
log_since "$h1" "$mark" | grep -q -i "symbolic link" || { ifail "$h1's hook log does not name the planted link"; show_log_since "$h1" "$mark"; }
sum=$(sha256sum <"$APPSHARE_BED_BRICK/$base" | cut -d' ' -f1)
[[ "$sum" == "$digest" ]] || ifail "after $h1's start, the brick's base has digest '$sum', not the base's"
read -r mode _ <<<"$(instance_mode "$h1" tamper-1)"
[[ "$mode" == shared ]] || ifail "tamper-1 is not on the reloaded shared base (mode '$mode')"
on-host "$h1" virsh -q destroy tamper-1 >/dev/null 2>&1 || true

# 2. A FIFO where the base's lock file is.
on-host "$h2" sh -c "rm -f '$SHARED/$base.lock' && mkfifo '$SHARED/$base.lock'" || ifail "host 2 could not plant a FIFO"
mark=$(log_lines "$h1")
start_domain "$h1" tamper-1
say "virsh start tamper-1 on $h1 with a FIFO as the base's lock returned $start_rc after $start_ms ms"
((start_rc == 0)) || ifail "the start on $h1 with a FIFO lock file failed: $start_out"
((start_ms < 60000)) || ifail "the start took $start_ms ms: it waited on the FIFO"
# What host 1 sees depends on its FUSE client: the FIFO itself ("not a regular file"), or the old
# lock file's inode gone ("cannot lock …: Stale file handle"); either way the lock file is named.
log_since "$h1" "$mark" | grep -F "$base.lock" | grep -q -E "not a regular file|cannot lock" ||
    { ifail "$h1's hook log does not say why the base's lock file could not be used"; show_log_since "$h1" "$mark"; }
read -r mode _ <<<"$(instance_mode "$h1" tamper-1)"
[[ "$mode" == independent ]] || ifail "with the shared lock refused, tamper-1 should run on a host-local copy (mode '$mode')"
on-host "$h1" virsh -q destroy tamper-1 >/dev/null 2>&1 || true
exit "$inner_failures"
