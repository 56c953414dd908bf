import {
  type Account,
  ListAccountsCommand,
  ListAccountsForParentCommand,
  ListOrganizationalUnitsForParentCommand,
  type OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { awsCall } from './errors.js';
import type { OrganizationAccount, OrganizationAccountLister } from './ports.js';

/**
 * The accounts of an AWS organization, read with the Organizations API from its management account or a delegated
 * administrator (ListAccounts, ListAccountsForParent, ListOrganizationalUnitsForParent: "You can only call this
 * operation from the management account or a member account that is a delegated administrator", Organizations API
 * Reference, https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListAccounts.html).
 */

/**
 * OUs nest at most five levels under the root (CreateOrganizationalUnit API reference: "For service control
 * policies, the limit is five"); a deeper walk means the answers loop, and it stops rather than run forever.
 */
const MAX_OU_DEPTH = 5;

export class OrganizationDirectory implements OrganizationAccountLister {
  readonly #organizations: OrganizationsClient;

  constructor(deps: { organizations: OrganizationsClient }) {
    this.#organizations = deps.organizations;
  }

  /**
   * The accounts to audit: every account (ListAccounts), or with `organizationalUnits` the accounts of those OUs
   * and of every OU nested in them. ListAccountsForParent lists "only that OU and not in any child OUs" (its API
   * reference), so the child OUs are walked with ListOrganizationalUnitsForParent. Every list is read to the end
   * of its NextToken: "These operations can occasionally return an empty set of results even when more results are
   * available" (the same references), so an empty page with a token is not the end. An account listed twice (two
   * overlapping OUs given) is returned once.
   */
  async listAccounts(organizationalUnits: ReadonlyArray<string> = []): Promise<OrganizationAccount[]> {
    const accounts =
      organizationalUnits.length === 0
        ? await this.#pages('organizations:ListAccounts', 'the organization', (NextToken) =>
            this.#organizations.send(new ListAccountsCommand({ NextToken })).then((r) => ({
              items: r.Accounts ?? [],
              next: r.NextToken,
            })),
          )
        : (await Promise.all(organizationalUnits.map((ou) => this.#accountsUnder(ou, 0)))).flat();
    const byId = new Map<string, OrganizationAccount>();
    for (const account of accounts.map(accountOf)) if (account && !byId.has(account.id)) byId.set(account.id, account);
    return [...byId.values()];
  }

  async #accountsUnder(parentId: string, depth: number): Promise<Account[]> {
    const [accounts, units] = await Promise.all([
      this.#pages('organizations:ListAccountsForParent', `parent ${parentId}`, (NextToken) =>
        this.#organizations
          .send(new ListAccountsForParentCommand({ ParentId: parentId, NextToken }))
          .then((r) => ({ items: r.Accounts ?? [], next: r.NextToken })),
      ),
      depth >= MAX_OU_DEPTH
        ? Promise.resolve([])
        : this.#pages('organizations:ListOrganizationalUnitsForParent', `parent ${parentId}`, (NextToken) =>
            this.#organizations
              .send(new ListOrganizationalUnitsForParentCommand({ ParentId: parentId, NextToken }))
              .then((r) => ({ items: r.OrganizationalUnits ?? [], next: r.NextToken })),
          ),
    ]);
    const nested = await Promise.all(
      units.flatMap((unit) => (unit.Id ? [this.#accountsUnder(unit.Id, depth + 1)] : [])),
    );
    return [...accounts, ...nested.flat()];
  }

  #pages<T>(
    operation: string,
    subject: string,
    page: (token: string | undefined) => Promise<{ items: T[]; next: string | undefined }>,
  ): Promise<T[]> {
    return awsCall(operation, subject, async () => {
      const items: T[] = [];
      let token: string | undefined;
      do {
        const answer = await page(token);
        items.push(...answer.items);
        token = answer.next;
      } while (token);
      return items;
    });
  }
}

/**
 * `Status` "will be retired on September 9, 2026" in favour of `State` (the Account shape in the Organizations API
 * model, aws-sdk-js-v3 clients/client-organizations), so `State` is read first.
 */
function accountOf(account: Account): OrganizationAccount | null {
  if (!account.Id) return null;
  return { id: account.Id, name: account.Name ?? null, state: account.State ?? account.Status ?? null };
}
