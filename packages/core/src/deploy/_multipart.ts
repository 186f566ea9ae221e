import { createHash } from 'node:crypto';

export interface FormPart {
  name: string;
  /** Present for file parts; a part without one is a plain field. */
  filename?: string;
  contentType?: string;
  body: Uint8Array | string;
}

export interface EncodedForm {
  contentType: string;
  body: Uint8Array;
}

// Browsers' escaping for names in Content-Disposition: quotes and line breaks cannot appear raw.
function quote(value: string): string {
  return `"${value.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}"`;
}

/**
 * A multipart/form-data body built byte for byte, so what goes on the wire is ours to pin in a test (the SDK's
 * own encoding of Workers script uploads is wrong in v7). The boundary is derived from the content, so the
 * same parts always encode to the same bytes.
 */
export function encodeMultipart(parts: FormPart[]): EncodedForm {
  const bodies = parts.map((part) => (typeof part.body === 'string' ? Buffer.from(part.body) : Buffer.from(part.body)));
  const digest = createHash('sha256');
  for (const [i, part] of parts.entries())
    digest
      .update(part.name)
      .update('\0')
      .update(bodies[i] as Buffer);
  const boundary = `reyna-${digest.digest('hex').slice(0, 32)}`;
  const delimiter = Buffer.from(`--${boundary}`);
  const chunks: Buffer[] = [];
  for (const [i, part] of parts.entries()) {
    const body = bodies[i] as Buffer;
    if (body.includes(delimiter)) throw new Error(`multipart: part ${part.name} contains the boundary`);
    let head = `--${boundary}\r\nContent-Disposition: form-data; name=${quote(part.name)}`;
    if (part.filename !== undefined) head += `; filename=${quote(part.filename)}`;
    head += '\r\n';
    if (part.contentType !== undefined) head += `Content-Type: ${part.contentType}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`), body, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: new Uint8Array(Buffer.concat(chunks)) };
}
