// ANSI colour for plans and reports; identity functions when colour is off (no TTY, NO_COLOR).
export interface Paint {
  green(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
  bold(text: string): string;
  dim(text: string): string;
}

export function paint(enabled: boolean): Paint {
  const wrap = (code: string) => (text: string) => (enabled ? `\u001b[${code}m${text}\u001b[0m` : text);
  return { green: wrap("32"), red: wrap("31"), yellow: wrap("33"), bold: wrap("1"), dim: wrap("2") };
}
