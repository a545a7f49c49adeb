/** Throws a RangeError naming the option unless `value` is absent or an integer >= 1. */
export function checkPositiveInt(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= 1)) {
    throw new RangeError(`${name} must be an integer >= 1, got ${value}`);
  }
}

/** Throws a RangeError naming the option unless `value` is absent or an integer >= 0. */
export function checkNonNegativeInt(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= 0)) {
    throw new RangeError(`${name} must be an integer >= 0, got ${value}`);
  }
}
