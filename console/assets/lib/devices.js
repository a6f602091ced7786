// "Chrome on Linux" from a User-Agent header, for the sessions list and the sign-in
// history. A best guess for people to recognise their devices: the raw string stays
// next to it, and nothing decides anything on it.

const BROWSERS = [
  [/\bEdgA?\//, "Edge"],
  [/\bOPR\//, "Opera"],
  [/\bSamsungBrowser\//, "Samsung Internet"],
  [/\bFirefox\/|\bFxiOS\//, "Firefox"],
  [/\b(?:Headless)?Chrome\/|\bCriOS\/|\bChromium\//, "Chrome"],
  [/\bVersion\/[\d.]+.*\bSafari\//, "Safari"],
];

const SYSTEMS = [
  [/\b(iPhone|iPad|iPod)\b/, "iOS"],
  [/\bAndroid\b/, "Android"],
  [/\bCrOS\b/, "ChromeOS"],
  [/\bWindows\b/, "Windows"],
  [/\bMac OS X\b|\bMacintosh\b/, "macOS"],
  [/\bLinux\b|\bX11\b/, "Linux"],
];

// Programs that are not browsers: their name is the first product token.
const PROGRAMS = [
  [/^curl\//i, "curl"],
  [/^python-httpx\//i, "Python (httpx)"],
  [/^python-requests\//i, "Python (requests)"],
  [/^Python-urllib\//i, "Python (urllib)"],
  [/^Go-http-client\//, "Go program"],
  [/^node-fetch\b|^undici\b/i, "Node.js program"],
  [/^Wget\//i, "Wget"],
];

function first(rules, text) {
  const found = rules.find(([pattern]) => pattern.test(text));
  return found ? found[1] : null;
}

/** "Chrome on Linux", "Safari on iOS", "curl", or "Unknown device". */
export function describeDevice(userAgent) {
  const text = String(userAgent || "").trim();
  if (!text) return "Unknown device";
  const program = first(PROGRAMS, text);
  if (program) return program;
  const browser = first(BROWSERS, text);
  const system = first(SYSTEMS, text);
  if (browser && system) return `${browser} on ${system}`;
  if (browser) return browser;
  if (system) return `A browser on ${system}`;
  // Something else: its first product token ("MyTool/1.2 (...)" → "MyTool").
  const token = text.split(/[\s/;(]/, 1)[0];
  return token || "Unknown device";
}
