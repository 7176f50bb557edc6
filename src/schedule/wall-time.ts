import { ScheduleError } from './schedule.js';

const WALL_TIME = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/;

/** Seconds after local midnight for "HH:MM" or "HH:MM:SS"; `what` names the setting in errors. */
export function parseWallTime(text: string, what: string): number {
  const match = WALL_TIME.exec(text);
  if (!match)
    throw new ScheduleError(
      `${what} "${text}" is not a time of day: use "HH:MM" or "HH:MM:SS", e.g. "03:10"`,
    );
  const [hours, minutes, seconds] = [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)];
  if (hours > 23 || minutes > 59 || seconds > 59)
    throw new ScheduleError(`${what} "${text}" is out of range: hours 00-23, minutes and seconds 00-59`);
  return hours * 3600 + minutes * 60 + seconds;
}

/** A local time-of-day window; `lengthSec` wraps over midnight when end < start (e.g. 22:00-02:00). */
export interface Window {
  startSec: number;
  lengthSec: number;
  text: string;
}

export function parseWindow(start: string, end: string): Window {
  const startSec = parseWallTime(start, 'window start');
  const endSec = parseWallTime(end, 'window end');
  if (startSec === endSec)
    throw new ScheduleError(
      `window "${start}-${end}" is empty: start and end must differ (use no window for the whole day)`,
    );
  const lengthSec = endSec > startSec ? endSec - startSec : endSec + 86_400 - startSec;
  return { startSec, lengthSec, text: `${start}-${end}` };
}

/** True when `secOfDay` lies in [start, start + length) modulo one day. */
export function inWindow(window: Window, secOfDay: number): boolean {
  return (secOfDay - window.startSec + 86_400) % 86_400 < window.lengthSec;
}
