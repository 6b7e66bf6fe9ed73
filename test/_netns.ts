/**
 * Network namespaces for the multi-host tests: the `ip` command as a yes/no, and the clean-up
 * of namespaces that earlier runs left when they ended before their own clean-up. Namespaces are
 * named after the test process (`…-<pid>`), so two runs of the suite on one machine neither
 * share nor remove each other's.
 * @module
 */

/** Runs `ip …`; true when it succeeded (false too where `ip` is missing or not permitted). */
export async function ip(...args: string[]): Promise<boolean> {
  try {
    const out = await new Deno.Command("ip", { args, stdout: "null", stderr: "null" }).output();
    return out.success;
  } catch {
    return false;
  }
}

/** Deletes namespaces matching `pattern` (its group 1 a pid) whose process is gone. */
export async function removeLeftovers(pattern: RegExp): Promise<void> {
  const cmd = new Deno.Command("ip", { args: ["netns", "list"], stdout: "piped", stderr: "null" });
  const list = await cmd.output().catch(() => undefined);
  for (const line of new TextDecoder().decode(list?.stdout).split("\n")) {
    const name = line.split(" ")[0]!;
    const pid = pattern.exec(name)?.[1];
    if (pid && !(await Deno.stat(`/proc/${pid}`).catch(() => undefined))) {
      await ip("netns", "del", name);
    }
  }
}
