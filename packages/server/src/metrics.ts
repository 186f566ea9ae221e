const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The few Prometheus series the server keeps, rendered in the text format without a client library. */
export class Metrics {
  private readonly requests = new Map<string, number>();
  private readonly latency = new Map<string, { buckets: number[]; sum: number; count: number }>();
  uploads = 0;
  uploadBytes = 0;
  readonly started = Date.now();

  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `method="${method}",route="${escapeLabel(route)}",status="${status}"`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    const lkey = `method="${method}",route="${escapeLabel(route)}"`;
    let h = this.latency.get(lkey);
    if (!h) {
      h = { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.latency.set(lkey, h);
    }
    BUCKETS.forEach((b, i) => {
      if (seconds <= b && h) h.buckets[i] = (h.buckets[i] ?? 0) + 1;
    });
    h.sum += seconds;
    h.count += 1;
  }

  upload(bytes: number): void {
    this.uploads += 1;
    this.uploadBytes += bytes;
  }

  render(stored: { blobs: number; bytes: number }): string {
    const out: string[] = [];
    out.push('# HELP reyna_http_requests_total HTTP requests answered.', '# TYPE reyna_http_requests_total counter');
    for (const [k, v] of this.requests) out.push(`reyna_http_requests_total{${k}} ${v}`);
    out.push(
      '# HELP reyna_http_request_duration_seconds Time to answer a request.',
      '# TYPE reyna_http_request_duration_seconds histogram',
    );
    for (const [k, h] of this.latency) {
      for (const [i, b] of BUCKETS.entries())
        out.push(`reyna_http_request_duration_seconds_bucket{${k},le="${b}"} ${h.buckets[i]}`);
      out.push(`reyna_http_request_duration_seconds_bucket{${k},le="+Inf"} ${h.count}`);
      out.push(`reyna_http_request_duration_seconds_sum{${k}} ${h.sum}`);
      out.push(`reyna_http_request_duration_seconds_count{${k}} ${h.count}`);
    }
    out.push('# HELP reyna_blob_uploads_total Blobs received (new or not).', '# TYPE reyna_blob_uploads_total counter');
    out.push(`reyna_blob_uploads_total ${this.uploads}`);
    out.push(
      '# HELP reyna_blob_upload_bytes_total Bytes of blobs received.',
      '# TYPE reyna_blob_upload_bytes_total counter',
    );
    out.push(`reyna_blob_upload_bytes_total ${this.uploadBytes}`);
    out.push('# HELP reyna_blobs_stored Distinct blobs stored.', '# TYPE reyna_blobs_stored gauge');
    out.push(`reyna_blobs_stored ${stored.blobs}`);
    out.push('# HELP reyna_bytes_stored Bytes of distinct blobs stored.', '# TYPE reyna_bytes_stored gauge');
    out.push(`reyna_bytes_stored ${stored.bytes}`);
    out.push('# HELP reyna_uptime_seconds Seconds since the server started.', '# TYPE reyna_uptime_seconds gauge');
    out.push(`reyna_uptime_seconds ${(Date.now() - this.started) / 1000}`);
    return `${out.join('\n')}\n`;
  }
}

function escapeLabel(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
}
