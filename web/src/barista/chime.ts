// The new-order chime: two short tones made with the Web Audio API (no sound file to load), and the mute choice.

const MUTED_KEY = 'serverlesspresso.barista.muted'

// A rising fifth (E5 then B5): rising reads as "something arrived", a falling pair as "something failed".
const TONES = [
  { frequency: 659.25, start: 0, length: 0.18 },
  { frequency: 987.77, start: 0.16, length: 0.32 },
] as const
const PEAK_GAIN = 0.25

let context: AudioContext | null = null

/**
 * Browsers keep audio suspended until a user gesture; call this from one (the first click on the page).
 * Returns whether audio can play now.
 */
export function unlockAudio(): boolean {
  try {
    context ??= new AudioContext()
    if (context.state === 'suspended') void context.resume()
    return true
  } catch {
    return false // no Web Audio (old browser, or a test runner): the announcement still says it
  }
}

export function playChime(): void {
  if (!context || context.state !== 'running') return
  const now = context.currentTime
  for (const tone of TONES) {
    const oscillator = context.createOscillator()
    const gain = context.createGain()
    oscillator.type = 'sine'
    oscillator.frequency.value = tone.frequency
    const start = now + tone.start
    // Exponential ramps from near zero avoid the click of a sine starting or stopping mid-wave.
    gain.gain.setValueAtTime(0.0001, start)
    gain.gain.exponentialRampToValueAtTime(PEAK_GAIN, start + 0.02)
    gain.gain.exponentialRampToValueAtTime(0.0001, start + tone.length)
    oscillator.connect(gain).connect(context.destination)
    oscillator.start(start)
    oscillator.stop(start + tone.length + 0.02)
  }
}

export function loadMuted(): boolean {
  try {
    return localStorage.getItem(MUTED_KEY) === 'true'
  } catch {
    return false
  }
}

export function saveMuted(muted: boolean): void {
  try {
    localStorage.setItem(MUTED_KEY, String(muted))
  } catch {
    // private mode: the choice lasts for this page only
  }
}
