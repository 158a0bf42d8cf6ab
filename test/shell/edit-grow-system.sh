#!/usr/bin/env bash
# Real programs of every origin this machine has (Debian's C, C++, Rust, Go,
# Free Pascal... builds): each x86-64 executable in /usr/bin is grown by a
# 64 KiB section in a new segment, then run with --version next to the
# original copied to a twin directory, and both must print the same (up to
# the directory) with the same status. Programs whose own output changes from
# run to run are skipped. eu-elflint must report nothing new on the grown
# files up to 4 MB. Under the sanitizers every program is grown, but only
# every fourth is run and linted: those checks cost the same in either build,
# and elfopt's output does not depend on it.
source "$(dirname "$0")/lib.sh"
require python3 eu-elflint

head -c 65536 /dev/urandom >"$WORK/blob"
python3 - "$ELFOPT" "$WORK" <<'PY'
import os, shutil, subprocess, sys
elfopt, work = sys.argv[1], sys.argv[2]
orig_dir, grown_dir = os.path.join(work, "orig"), os.path.join(work, "grown")
os.makedirs(orig_dir); os.makedirs(grown_dir)
skip_names = {"reboot", "shutdown", "halt", "poweroff", "init", "telinit", "systemctl", "kill",
              "pkill", "killall", "xdg-open", "sensible-browser", "x-www-browser", "chromium"}

def run(path, cwd):
    try:
        r = subprocess.run([path, "--version"], cwd=cwd, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=10)
    except (subprocess.TimeoutExpired, OSError):
        return None
    text = (r.stdout + r.stderr).replace(os.path.dirname(path).encode(), b"DIR")
    # Programs that run helpers (groff) interleave their lines differently
    # from run to run, more so under load: compare the lines, not their order.
    return r.returncode, b"\n".join(sorted(text.splitlines()))

def elflint(path):
    r = subprocess.run(["eu-elflint", "--gnu-ld", path], capture_output=True, text=True)
    return sorted((r.stdout + r.stderr).replace(path, "FILE").splitlines())

grown = same = skipped = linted = 0
failures = []
every = 4 if os.environ.get("ELFOPT_SANITIZED") == "1" else 1
for name in sorted(os.listdir("/usr/bin")):
    src = os.path.join("/usr/bin", name)
    if name in skip_names or os.path.islink(src) or not os.path.isfile(src):
        continue
    with open(src, "rb") as f:
        ident = f.read(20)
    if ident[:4] != b"\x7fELF" or ident[4] != 2 or ident[18:20] != b"\x3e\x00":
        continue
    o, g = os.path.join(orig_dir, name), os.path.join(grown_dir, name)
    shutil.copy2(src, o)
    r = subprocess.run([elfopt, "edit", o, "-o", g, f"--add-section=.elfopt.test={work}/blob"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        failures.append(f"{name}: elfopt edit failed: {r.stderr.strip()}")
        continue
    grown += 1
    if grown % every:
        os.unlink(o); os.unlink(g)
        continue
    if os.path.getsize(src) <= 4 << 20:
        linted += 1
        if elflint(o) != elflint(g):
            failures.append(f"{name}: eu-elflint reports new problems")
    first, second = run(o, orig_dir), run(o, orig_dir)
    if first is None or first != second:
        skipped += 1
        continue
    after = run(g, grown_dir)
    # Programs that run helpers (groff) may interleave their output
    # differently from run to run: a difference must persist to count.
    for _ in range(3):
        if after == first:
            break
        first, after = run(o, orig_dir), run(g, grown_dir)
    if after != first:
        failures.append(f"{name}: behaves differently after growing: {first!r:.200} vs {after!r:.200}")
    else:
        same += 1
    os.unlink(o); os.unlink(g)
for f in failures:
    print("FAIL:", f, file=sys.stderr)
sampled = f" (every {every}th run and linted)" if every > 1 else ""
print(f"grew {grown} programs{sampled}: {same} ran identically, {skipped} skipped (no stable --version), "
      f"{linted} checked with eu-elflint, {len(failures)} failures")
sys.exit(1 if failures or grown < 50 else 0)
PY
check "every program in /usr/bin grows and still runs" test $? = 0

# Shared libraries everything depends on, grown and loaded in place of the
# system's by real programs.
mkdir -p "$WORK/libs"
for lib in libc.so.6 libm.so.6 libstdc++.so.6 libgcc_s.so.1 libz.so.1 libselinux.so.1 libpcre2-8.so.0; do
  check "grow $lib" "$ELFOPT" edit "/usr/lib/x86_64-linux-gnu/$lib" -o "$WORK/libs/$lib" \
    --add-section .elfopt.test="$WORK/blob"
done
for cmd in "ls -la /usr/lib/x86_64-linux-gnu/libc.so.6" "cmake --version" "g++ --version" "sort /etc/passwd"; do
  expected=$($cmd 2>&1; echo "status=$?")
  got=$(LD_LIBRARY_PATH=$WORK/libs $cmd 2>&1; echo "status=$?")
  check "'$cmd' with grown libraries" test "$expected" = "$got"
  check "'$cmd' loads the grown libc" bash -c "LD_LIBRARY_PATH='$WORK/libs' LD_DEBUG=libs $cmd 2>&1 >/dev/null | grep -q 'calling init: $WORK/libs/libc.so.6'"
done
finish
