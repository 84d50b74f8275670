import { EXIT_USAGE, type Io } from '../io.ts'

export const VERIFY_HELP = `Usage: carbonproof verify (work in progress)\n`

export async function verifyCommand(io: Io, argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout(VERIFY_HELP)
    return 0
  }
  io.stderr(VERIFY_HELP)
  return EXIT_USAGE
}
