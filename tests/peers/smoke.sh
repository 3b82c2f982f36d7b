#!/usr/bin/env bash
# smoke.sh - quick checks of the running test peers with curl (and boto3 for S3),
# trimmed from the team's smoke scripts, plus the Palmetto gateway contract.
#
# Usage: smoke.sh [names...]   names: slurm-bookworm slurm-trixie slurm-sid
#                               oidc-globus oidc-keycloak s3 palmetto
#        (default: every peer whose env file exists in $PEER_ROOT)
# Ends with "N passed, M failed"; exit status non-zero if anything failed.
set -uo pipefail
PEER_ROOT="${PEER_ROOT:-/tmp/tokenwarden-peers}"
PEER_CACHE="${PEER_CACHE:-/var/cache/tokenwarden-peers}"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
pass=0; fail=0
ok()  { echo "ok   - $*"; pass=$((pass+1)); }
bad() { echo "FAIL - $*"; fail=$((fail+1)); }
check() { local desc=$1; shift; if "$@"; then ok "$desc"; else bad "$desc"; fi; }
code() { curl -s -o "$W/body" -w '%{http_code}' --max-time 30 "$@"; }
body() { head -c 400 "$W/body"; }
jget() { "$PY" -c "import json,sys; d=json.load(open('$W/body')); print(eval(sys.argv[1]))" "$1" 2>/dev/null; }
loadenv() { set -a; . "$1"; set +a; }

mint() { # mint <keyfile> <user> <lifetime s>: HS256 Slurm JWT, as a test can do it
  "$PY" - "$@" <<'EOF'
import sys, hmac, hashlib, base64, json, time
b = lambda x: base64.urlsafe_b64encode(x).rstrip(b'=').decode()
key = open(sys.argv[1], 'rb').read(); now = int(time.time())
h = b(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(',', ':')).encode())
p = b(json.dumps({"exp": now + int(sys.argv[3]), "iat": now, "sun": sys.argv[2]}, separators=(',', ':')).encode())
print(h + '.' + p + '.' + b(hmac.new(key, (h + '.' + p).encode(), hashlib.sha256).digest()))
EOF
}

payload() { # payload <api version> <name>: a sleep-300 batch job in that version's shape
  case "$1" in
    v0.0.36|v0.0.37|v0.0.38)
      echo '{"job":{"name":"'$2'","partition":"debug","current_working_directory":"/tmp","environment":{"PATH":"/bin:/usr/bin"},"time_limit":5,"standard_output":"/tmp/'$2'-%j.out"},"script":"#!/bin/bash\necho hello\nsleep 300\n"}' ;;
    *)
      echo '{"job":{"name":"'$2'","partition":"debug","current_working_directory":"/tmp","environment":["PATH=/bin:/usr/bin"],"time_limit":{"set":true,"infinite":false,"number":5},"standard_output":"/tmp/'$2'-%j.out","script":"#!/bin/bash\necho hello\nsleep 300\n"}}' ;;
  esac
}

wait_state() { # wait_state <want-substring> <url> <curl args...>: poll a job until its state matches (30 s)
  local want=$1 url=$2; shift 2; local end=$((SECONDS + 30)) st=""
  while [ $SECONDS -lt $end ]; do
    code "$@" "$url" >/dev/null
    st=$(jget 'd["jobs"][0]["job_state"]')
    case "$st" in *"$want"*) echo "$st"; return 0 ;; esac
    sleep 0.5
  done
  echo "$st"; return 1
}

# ------------------------------------------------------------------ slurm
smoke_slurm() {
  local F=$1 E="$PEER_ROOT/slurm-$1.env"
  [ -f "$E" ] || { bad "slurm-$F: no $E (run up.sh slurm-$F)"; return; }
  echo "# slurm-$F"
  loadenv "$E"
  local B=$SLURM_REST_URL L=$SLURM_API_LATEST V c jid st
  local H=(-H "X-SLURM-USER-NAME: $SLURM_USER" -H "X-SLURM-USER-TOKEN: $SLURM_JWT")
  c=$(code "$B/slurm/$L/jobs"); [ "$c" = 401 ] && ok "slurm-$F: no credentials -> 401" || bad "slurm-$F: no credentials -> $c"
  for V in $SLURM_API_VERSIONS; do
    c=$(code "${H[@]}" "$B/slurm/$V/ping"); [ "$c" = 200 ] && ok "slurm-$F: $V ping" || bad "slurm-$F: $V ping -> $c $(body)"
  done
  c=$(code "${H[@]}" "$B/slurm/$L/jobs"); [ "$c" = 200 ] && ok "slurm-$F: $L list jobs" || bad "slurm-$F: list jobs -> $c"
  c=$(code "${H[@]}" -H 'Content-Type: application/json' -X POST -d "$(payload "$L" smoke)" "$B/slurm/$L/job/submit")
  jid=$(jget 'd["job_id"]')
  if [ "$c" = 200 ] && [ -n "$jid" ]; then
    ok "slurm-$F: $L submit -> job $jid"
    st=$(wait_state RUNNING "$B/slurm/$L/job/$jid" "${H[@]}") && ok "slurm-$F: job $jid $st" || bad "slurm-$F: job $jid never RUNNING ($st)"
    c=$(code "${H[@]}" -X DELETE "$B/slurm/$L/job/$jid"); [ "$c" = 200 ] && ok "slurm-$F: cancel job $jid" || bad "slurm-$F: cancel -> $c"
    st=$(wait_state CANCELLED "$B/slurm/$L/job/$jid" "${H[@]}") && ok "slurm-$F: job $jid $st" || bad "slurm-$F: job $jid not CANCELLED ($st)"
  else bad "slurm-$F: submit -> $c $(body)"; fi
  c=$(code -H "X-SLURM-USER-NAME: $SLURM_USER" -H "X-SLURM-USER-TOKEN: $(mint "$SLURM_JWT_KEY" "$SLURM_USER" 300)" "$B/slurm/$L/jobs")
  [ "$c" = 200 ] && ok "slurm-$F: self-minted HS256 token accepted" || bad "slurm-$F: self-minted token -> $c"
  c=$(code -H "X-SLURM-USER-NAME: $SLURM_USER" -H "X-SLURM-USER-TOKEN: ${SLURM_JWT%?}x" "$B/slurm/$L/jobs")
  [ "$c" != 200 ] && ok "slurm-$F: tampered token -> $c" || bad "slurm-$F: tampered token accepted"
  c=$(code -H "X-SLURM-USER-NAME: $SLURM_USER" -H "X-SLURM-USER-TOKEN: $(mint "$SLURM_JWT_KEY" "$SLURM_USER" -10)" "$B/slurm/$L/jobs")
  [ "$c" != 200 ] && ok "slurm-$F: expired token -> $c" || bad "slurm-$F: expired token accepted"
  c=$(setpriv --reuid="$SLURM_REST_UNIX_UID" --regid="$SLURM_REST_UNIX_UID" --clear-groups \
      curl -s -o /dev/null -w '%{http_code}' --max-time 20 --unix-socket "$SLURM_REST_UNIX_SOCKET" "http://localhost/slurm/$L/jobs")
  [ "$c" = 200 ] && ok "slurm-$F: rest_auth/local UNIX socket as uid $SLURM_REST_UNIX_UID -> 200" || bad "slurm-$F: UNIX socket -> $c"
  check "slurm-$F: host munge credential accepted by the cluster's munged ($MUNGE_SOCKET)" \
    bash -c 'munge -n -t 5 -S "$1" | unmunge -S "$1" --output=/dev/null --metadata=/dev/null' _ "$MUNGE_SOCKET"
}

# ------------------------------------------------------------------ oidc
smoke_oidc() {
  local P=$1 E="$PEER_ROOT/oidc-$1.env"
  [ -f "$E" ] || { bad "oidc-$P: no $E (run up.sh oidc-$P)"; return; }
  echo "# oidc-$P"
  loadenv "$E"
  local V CH ST REDIR loc loc2 loc3 CODE AT RT c J="$W/cj"
  rm -f "$J"
  V=$(openssl rand -hex 32); CH=$(printf %s "$V" | openssl dgst -binary -sha256 | openssl base64 -A | tr '+/' '-_' | tr -d '=')
  ST=$(openssl rand -hex 8); REDIR="http://127.0.0.1:53117/callback"
  loc=$(curl -s -o /dev/null -c "$J" -b "$J" -w '%{redirect_url}' --max-time 10 \
    "$OIDC_AUTHORIZATION_ENDPOINT?client_id=$OIDC_PUBLIC_CLIENT&response_type=code&scope=openid%20offline_access&redirect_uri=http%3A%2F%2F127.0.0.1%3A53117%2Fcallback&state=$ST&code_challenge=$CH&code_challenge_method=S256")
  [[ "$loc" == *"/interaction/"* ]] && ok "oidc-$P: authorize -> login page" || { bad "oidc-$P: authorize -> '$loc'"; return; }
  c=$(curl -s -o /dev/null -c "$J" -b "$J" -w '%{http_code}' --max-time 10 -d "username=$OIDC_USER&password=wrong" "$loc/login")
  [ "$c" = 401 ] && ok "oidc-$P: wrong password -> 401" || bad "oidc-$P: wrong password -> $c"
  # The password goes on stdin, not argv (tokenwarden's own command-line check).
  loc2=$(curl -s -o /dev/null -c "$J" -b "$J" -w '%{redirect_url}' --max-time 10 -d @- "$loc/login" <<< "username=$OIDC_USER&password=$OIDC_PASSWORD")
  loc3=$(curl -s -o /dev/null -c "$J" -b "$J" -w '%{redirect_url}' --max-time 10 "$loc2")
  CODE=$("$PY" -c 'import urllib.parse,sys; q=urllib.parse.parse_qs(urllib.parse.urlparse(sys.argv[1]).query); assert q["state"][0]==sys.argv[2]; print(q["code"][0])' "$loc3" "$ST" 2>/dev/null)
  [ -n "$CODE" ] && ok "oidc-$P: login -> code on the loopback callback" || { bad "oidc-$P: no code ($loc3)"; return; }
  c=$(code -d "grant_type=authorization_code&code=$CODE&redirect_uri=$REDIR&client_id=$OIDC_PUBLIC_CLIENT&code_verifier=$V" "$OIDC_TOKEN_ENDPOINT")
  AT=$(jget 'd["access_token"]'); RT=$(jget 'd["refresh_token"]')
  [ "$c" = 200 ] && [ -n "$AT" ] && ok "oidc-$P: code + PKCE exchange -> tokens" || { bad "oidc-$P: exchange -> $c $(body)"; return; }
  introspect() { code -u "$OIDC_CONF_CLIENT:$OIDC_CONF_SECRET" -d "token=$1" "$OIDC_INTROSPECTION_ENDPOINT" >/dev/null; jget 'd["active"]'; }
  [ "$(introspect "$AT")" = True ] && ok "oidc-$P: introspect -> active" || bad "oidc-$P: introspect: $(body)"
  c=$(code -d "grant_type=refresh_token&refresh_token=$RT&client_id=$OIDC_PUBLIC_CLIENT" "$OIDC_TOKEN_ENDPOINT")
  [ "$c" = 200 ] && [ "$(jget 'd["refresh_token"]')" != "$RT" ] && ok "oidc-$P: refresh -> rotated refresh token" || bad "oidc-$P: refresh -> $c"
  c=$(code -d "token=$AT&token_type_hint=access_token&client_id=$OIDC_PUBLIC_CLIENT" "$OIDC_REVOCATION_ENDPOINT")
  [ "$c" = 200 ] && [ "$(introspect "$AT")" = False ] && ok "oidc-$P: revoke -> introspect active:false" || bad "oidc-$P: revoke -> $c, $(body)"
  if [ "$P" = keycloak ]; then
    c=$(code -d "grant_type=password&client_id=$OIDC_PUBLIC_CLIENT&username=$OIDC_USER&password=$OIDC_PASSWORD" "$OIDC_TOKEN_ENDPOINT")
    [ "$c" = 200 ] && ok "oidc-$P: password grant -> 200" || bad "oidc-$P: password grant -> $c"
    c=$(code -d "grant_type=password&client_id=$OIDC_PUBLIC_CLIENT&username=$OIDC_USER&password=wrong" "$OIDC_TOKEN_ENDPOINT")
    [ "$c" = 401 ] && ok "oidc-$P: password grant, wrong password -> 401" || bad "oidc-$P: wrong password grant -> $c"
  fi
  c=$(code -u "$OIDC_CONF_CLIENT:$OIDC_CONF_SECRET" -d "grant_type=client_credentials&scope=openid" "$OIDC_TOKEN_ENDPOINT")
  [ "$c" = 200 ] && ok "oidc-$P: client_credentials -> 200" || bad "oidc-$P: client_credentials -> $c"
  c=$(code -u "$OIDC_CONF_CLIENT:wrong" -d "grant_type=client_credentials" "$OIDC_TOKEN_ENDPOINT")
  [ "$c" = 401 ] && ok "oidc-$P: client_credentials, wrong secret -> 401" || bad "oidc-$P: wrong client secret -> $c"
}

# ------------------------------------------------------------------ s3
smoke_s3() {
  [ -f "$PEER_ROOT/s3.env" ] || { bad "s3: no $PEER_ROOT/s3.env (run up.sh s3)"; return; }
  echo "# s3"
  local out
  out=$( (set -a; . "$PEER_ROOT/s3.env"; [ -f "$PEER_ROOT/oidc-keycloak.env" ] && . "$PEER_ROOT/oidc-keycloak.env"; set +a
          "$PEER_CACHE/venv-s3/bin/python" - <<'PY'
import json, os, urllib.request, urllib.parse
import boto3, botocore
from botocore.config import Config
E = os.environ
cfg = Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"})
def s3(ak, sk, tok=None):
    return boto3.client("s3", endpoint_url=E["S3_ENDPOINT"], region_name=E["S3_REGION"], aws_access_key_id=ak,
                        aws_secret_access_key=sk, aws_session_token=tok, config=cfg)
def check(desc, fn, want=None):
    try: fn(); got = None
    except botocore.exceptions.ClientError as e: got = e.response["Error"]["Code"]
    print(f"ok   - s3: {desc} -> {got or 'success'}" if got == want else f"FAIL - s3: {desc}: expected {want}, got {got}")
B = E["S3_BUCKET"]
check("right secret, get object", lambda: s3(E["S3_ACCESS_KEY_ID"], E["S3_SECRET_ACCESS_KEY"]).get_object(Bucket=B, Key="hello.txt"))
check("wrong secret", lambda: s3(E["S3_ACCESS_KEY_ID"], "x" + E["S3_SECRET_ACCESS_KEY"]).list_objects_v2(Bucket=B), "SignatureDoesNotMatch")
check("unknown access key", lambda: s3("AKIAUNKNOWNKEY000000", "x").list_objects_v2(Bucket=B), "InvalidAccessKeyId")
check("AssumeRole temp creds, put object", lambda: s3(E["S3_TEMP_ACCESS_KEY_ID"], E["S3_TEMP_SECRET_ACCESS_KEY"], E["S3_TEMP_SESSION_TOKEN"]).put_object(Bucket=B, Key="t.txt", Body=b"x"))
check("temp creds, tampered session token", lambda: s3(E["S3_TEMP_ACCESS_KEY_ID"], E["S3_TEMP_SECRET_ACCESS_KEY"], E["S3_TEMP_SESSION_TOKEN"][:-4] + "AAAA").list_objects_v2(Bucket=B), "InvalidToken")
if E.get("CSM_STS_URL"):
    form = urllib.parse.urlencode({"grant_type": "password", "client_id": E["OIDC_PUBLIC_CLIENT"], "username": E["OIDC_USER"], "password": E["OIDC_PASSWORD"]}).encode()
    tok = json.load(urllib.request.urlopen(urllib.request.Request(E["OIDC_TOKEN_ENDPOINT"], data=form), timeout=10))["access_token"]
    with urllib.request.urlopen(urllib.request.Request(E["CSM_STS_URL"], method="PUT", headers={"Authorization": "Bearer " + tok}), timeout=20) as r:
        code, c = r.status, json.load(r)["Credentials"]
    print(f"{'ok  ' if code == 201 else 'FAIL'} - s3: keycloak token -> CSM STS PUT -> HTTP {code}")
    check("CSM STS creds, list bucket", lambda: s3(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]).list_objects_v2(Bucket=B))
    try:
        urllib.request.urlopen(urllib.request.Request(E["CSM_STS_URL"], method="PUT", headers={"Authorization": "Bearer nope"}), timeout=20)
        print("FAIL - s3: CSM STS accepted a bogus bearer")
    except urllib.error.HTTPError as e:
        print(f"{'ok  ' if e.code == 401 else 'FAIL'} - s3: CSM STS, bogus bearer -> HTTP {e.code}")
PY
        ) 2>&1)
  echo "$out"
  pass=$((pass + $(grep -c '^ok ' <<<"$out"))); fail=$((fail + $(grep -c '^FAIL' <<<"$out")))
  grep -q '^ok ' <<<"$out" || bad "s3: the boto3 checks did not run"
}

# ------------------------------------------------------------------ palmetto
smoke_palmetto() {
  [ -f "$PEER_ROOT/palmetto.env" ] || { bad "palmetto: no $PEER_ROOT/palmetto.env (run up.sh palmetto)"; return; }
  loadenv "$PEER_ROOT/palmetto.env"
  echo "# palmetto (slurm $PALMETTO_SLURM_FLAVOR)"
  loadenv "$PEER_ROOT/slurm-$PALMETTO_SLURM_FLAVOR.env"
  local U=$PALMETTO_URL L=$PALMETTO_API_LATEST S=$PALMETTO_MUNGE_SOCKET c cred cred60 jid st n0
  local RW=(-H "Authorization: Bearer $PALMETTO_TOKEN_RW") RO=(-H "Authorization: Bearer $PALMETTO_TOKEN_RO")
  n0=$(wc -l < "$PALMETTO_REQUEST_LOG")
  c=$(code "$U/ping"); [ "$c" = 200 ] && [ "$(cat "$W/body")" = pong ] && ok "palmetto: GET /ping -> pong" || bad "palmetto: ping -> $c $(body)"
  c=$(code "$U/meta/versions/supported")
  [ "$c" = 200 ] && [ "$(jget '" ".join(d)')" = "$PALMETTO_API_VERSIONS" ] && ok "palmetto: /meta/versions/supported -> $(body)" || bad "palmetto: supported -> $c $(body)"
  c=$(code "$U/meta/versions/latest"); [ "$c" = 200 ] && [ "$(cat "$W/body")" = "$L" ] && ok "palmetto: /meta/versions/latest -> $L" || bad "palmetto: latest -> $c $(body)"
  c=$(code "$U/slurm/latest/jobs"); [ "$c" = 401 ] && ok "palmetto: no Authorization -> 401" || bad "palmetto: no auth -> $c"
  cred=$(munge -n -t 5 -S "$S")
  c=$(code -H "Authorization: MUNGE $cred" "$U/slurm/latest/jobs")
  [ "$c" = 200 ] && ok "palmetto: MUNGE (munge -n -t 5, uid $(id -u)) GET /slurm/latest/jobs -> 200" || bad "palmetto: MUNGE -> $c $(body)"
  c=$(code -H "Authorization: MUNGE $cred" "$U/slurm/latest/jobs")
  [ "$c" = 401 ] && [ "$(jget 'd["error"]')" = munge_replayed ] && ok "palmetto: replayed MUNGE credential -> 401 munge_replayed" || bad "palmetto: replay -> $c $(body)"
  cred60=$(munge -n -t 60 -S "$S")
  c=$(code -H "Authorization: MUNGE $cred60" "$U/slurm/latest/jobs")
  [ "$c" = 401 ] && [ "$(jget 'd["error"]')" = munge_ttl_too_long ] && ok "palmetto: MUNGE TTL 60 -> 401 munge_ttl_too_long" || bad "palmetto: ttl 60 -> $c $(body)"
  c=$(code -H "Authorization: MUNGE MUNGE:AwQFAAAAbogus:" "$U/slurm/latest/jobs"); [ "$c" = 401 ] && ok "palmetto: garbage MUNGE credential -> 401" || bad "palmetto: garbage MUNGE -> $c"
  local credu; credu=$(setpriv --reuid="$SLURM_REST_UNIX_UID" --regid="$SLURM_REST_UNIX_UID" --clear-groups munge -n -t 5 -S "$S")
  c=$(code -H "Authorization: MUNGE $credu" "$U/slurm/latest/ping")
  [ "$c" = 200 ] && [ "$(tail -n 1 "$PALMETTO_REQUEST_LOG" | "$PY" -c 'import json,sys; print(json.load(sys.stdin).get("user"))')" = "$SLURM_USER" ] \
    && ok "palmetto: MUNGE credential of uid $SLURM_REST_UNIX_UID -> mapped to $SLURM_USER" || bad "palmetto: MUNGE as uid $SLURM_REST_UNIX_UID -> $c"
  c=$(code "${RW[@]}" "$U/slurm/v0.0.1/jobs"); [ "$c" = 400 ] && [ "$(jget 'd["error"]')" = unsupported_version ] && ok "palmetto: unsupported version v0.0.1 -> 400" || bad "palmetto: bad version -> $c $(body)"
  c=$(code -H "Authorization: Bearer not-a-token" "$U/slurm/latest/jobs"); [ "$c" = 401 ] && ok "palmetto: unknown bearer -> 401" || bad "palmetto: unknown bearer -> $c"
  c=$(code -H "X-SLURM-USER-NAME: $SLURM_USER" -H "X-SLURM-USER-TOKEN: $SLURM_JWT" "$U/slurm/latest/jobs"); [ "$c" = 401 ] && ok "palmetto: slurmrestd header pair -> 401" || bad "palmetto: X-SLURM pair -> $c"
  c=$(code "${RO[@]}" "$U/slurm/latest/jobs"); [ "$c" = 200 ] && ok "palmetto: ro bearer GET jobs -> 200" || bad "palmetto: ro GET -> $c $(body)"
  c=$(code "${RO[@]}" -H 'Content-Type: application/json' -X POST -d "$(payload "$L" pal-ro)" "$U/slurm/latest/job/submit")
  [ "$c" = 403 ] && ok "palmetto: ro bearer submit -> 403" || bad "palmetto: ro submit -> $c $(body)"
  c=$(code "${RW[@]}" -H 'Content-Type: application/json' -X POST -d "$(payload "$L" pal-rw)" "$U/slurm/$L/job/submit")
  jid=$(jget 'd["job_id"]')
  if [ "$c" = 200 ] && [ -n "$jid" ]; then
    ok "palmetto: rw bearer submit -> job $jid"
    st=$(wait_state RUNNING "$U/slurm/latest/job/$jid" "${RO[@]}") && ok "palmetto: job $jid $st (ro bearer GET)" || bad "palmetto: job $jid never RUNNING ($st)"
    c=$(code "${RO[@]}" -X DELETE "$U/slurm/latest/job/$jid"); [ "$c" = 403 ] && ok "palmetto: ro bearer cancel -> 403" || bad "palmetto: ro cancel -> $c"
    c=$(code "${RW[@]}" -X DELETE "$U/slurm/latest/job/$jid"); [ "$c" = 200 ] && ok "palmetto: rw bearer cancel job $jid -> 200" || bad "palmetto: rw cancel -> $c $(body)"
    st=$(wait_state CANCELLED "$U/slurm/latest/job/$jid" "${RW[@]}") && ok "palmetto: job $jid $st" || bad "palmetto: job $jid not CANCELLED ($st)"
  else bad "palmetto: rw submit -> $c $(body)"; fi
  # the request log: one line per request, the scheme recorded, never the credential
  local n1; n1=$(wc -l < "$PALMETTO_REQUEST_LOG")
  [ $((n1 - n0)) -ge 18 ] && ok "palmetto: request log grew by $((n1 - n0)) lines" || bad "palmetto: request log grew by $((n1 - n0))"
  if grep -qF -e "$PALMETTO_TOKEN_RW" -e "$PALMETTO_TOKEN_RO" -e "${cred#MUNGE:}" -e "${cred60#MUNGE:}" "$PALMETTO_REQUEST_LOG" "$PEER_ROOT/palmetto.log"; then
    bad "palmetto: a credential appears in the request log or the gateway log"
  else ok "palmetto: no credential in the request log or the gateway log"; fi
  tail -n +$((n0 + 1)) "$PALMETTO_REQUEST_LOG" | "$PY" -c '
import json, sys
recs = [json.loads(l) for l in sys.stdin]
need = {("munge", "forwarded"), ("munge", "munge_replayed"), ("munge", "munge_ttl_too_long"), ("bearer", "scope_denied"),
        ("bearer", "forwarded"), ("none", "no_credentials"), ("bearer", "unsupported_version"), ("x-slurm-user-token", "unsupported_scheme")}
have = {(r["auth"], r["outcome"]) for r in recs}
sys.exit(0 if need <= have else print("missing:", need - have) or 1)' \
    && ok "palmetto: request log records scheme + outcome of each request" || bad "palmetto: request log incomplete"
}

# ------------------------------------------------------------------ main
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in slurm-bookworm slurm-trixie slurm-sid oidc-globus oidc-keycloak s3 palmetto; do
    [ -f "$PEER_ROOT/$f.env" ] && names+=("$f")
  done
  [ ${#names[@]} -gt 0 ] || { echo "no peers are up (no env files in $PEER_ROOT)"; echo "0 passed, 1 failed"; exit 1; }
fi
T0=$SECONDS
for n in "${names[@]}"; do
  case "$n" in
    slurm-*) smoke_slurm "${n#slurm-}" ;;
    oidc-*)  smoke_oidc "${n#oidc-}" ;;
    s3|s3-plain) smoke_s3 ;;
    palmetto*) smoke_palmetto ;;
    munge) loadenv "$PEER_ROOT/munge.env" 2>/dev/null && check "munge: encode/decode on $MUNGE_SOCKET" \
             bash -c 'munge -n -t 5 -S "$1" | unmunge -S "$1" --output=/dev/null --metadata=/dev/null' _ "$MUNGE_SOCKET" || bad "munge: not up" ;;
    *) bad "unknown peer '$n'" ;;
  esac
done
echo "# smoke took $((SECONDS - T0)) s"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
