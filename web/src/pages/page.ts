/** One screen of the app: a section of <main> that the router shows and hides. */
export interface Page {
  readonly id: string;
  readonly title: string;
  readonly element: HTMLElement;
  /** Called each time the page becomes visible. */
  shown?(): void;
  /** Called each time the page is hidden. */
  hidden?(): void;
}
