/** Exit codes beyond core's: the shell's 128 + signal number. */
export const EXIT_INTERRUPTED = 130;
export const EXIT_TERMINATED = 143;
