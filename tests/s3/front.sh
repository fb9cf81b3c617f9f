# Sourced by shell tests: starts the test S3 store (s3_front.py) in its own
# process group and exports what a client needs. The caller's EXIT trap must
# call s3_front_stop. Usage:
#   . tests/s3/front.sh; s3_front_start DIR BUCKET...   (exit 77 when it skips)
# Sets AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,
# AWS_ENDPOINT_URL_S3; aws_cli runs Debian's awscli against it.
s3_front_pid=""
s3_front_start() {
  local dir=$1
  shift
  local buckets=()
  for b in "$@"; do buckets+=(--bucket "$b"); done
  export AWS_ACCESS_KEY_ID=AKIDSLUICETEST AWS_SECRET_ACCESS_KEY=sluice-test-secret AWS_REGION=us-east-1
  mkdir -p "$dir"
  setsid /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/s3_front.py" --data "$dir/s3" --port-file "$dir/s3.port" \
    "${buckets[@]}" --access-key "$AWS_ACCESS_KEY_ID" --secret-key "$AWS_SECRET_ACCESS_KEY" >"$dir/front.log" 2>&1 &
  s3_front_pid=$!
  local rc
  for _ in $(seq 1 600); do
    [ -s "$dir/s3.port" ] && break
    if ! kill -0 "$s3_front_pid" 2>/dev/null; then
      wait "$s3_front_pid" && rc=0 || rc=$?
      s3_front_pid=""
      [ "$rc" -eq 77 ] && { echo "SKIPPED: $(tail -1 "$dir/front.log")"; exit 77; }
      cat "$dir/front.log"
      echo "FAIL: the S3 front exited ($rc)"
      exit 1
    fi
    sleep 0.1
  done
  [ -s "$dir/s3.port" ] || { cat "$dir/front.log"; echo "FAIL: the S3 front did not start"; exit 1; }
  export AWS_ENDPOINT_URL_S3=http://127.0.0.1:$(cat "$dir/s3.port")
}
s3_front_stop() {
  [ -n "$s3_front_pid" ] || return 0
  kill -TERM -- "-$s3_front_pid" 2>/dev/null || true
  wait "$s3_front_pid" 2>/dev/null || true
  s3_front_pid=""
}
aws_cli() {
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_DEFAULT_REGION=us-east-1 \
    /usr/bin/aws --endpoint-url "$AWS_ENDPOINT_URL_S3" "$@"
}
