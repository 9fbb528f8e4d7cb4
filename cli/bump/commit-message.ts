// The bump's commit message: a subject humans read and trailers tools parse (`git log --format=%(trailers)`).

export function commitMessage(service: string, tag: string): string {
  return `Updating ${service} tag to '${tag}'\n\nSysconfig-Service: ${service}\nSysconfig-Tag: ${tag}\n`;
}
