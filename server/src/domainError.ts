/** A refusal the domain code names by its `kind`; only the edges map a kind to a status. */
export class DomainError<Kind extends string> extends Error {
  constructor(
    readonly kind: Kind,
    message: string,
  ) {
    super(message);
  }
}
