/**
 * The rules of each resource type, in the order they run (ResourceService.use). app.ts builds a service and routes
 * for every resource type in schemas/resource-types/ and registers its rules from here, so adding a resource type is
 * a schema file, a rules module listed here, and nothing else.
 */
import type { Store } from '../store/store';
import { managerRule } from './manager';
import { memberDisplayRule } from './member-display';
import type { ResourceRule, ResourceService } from './resources';

export type RuleFactory = (service: ResourceService, store: Store) => ResourceRule;

export const RULES: Readonly<Record<string, readonly RuleFactory[]>> = {
  // The enterprise extension's manager reference: it exists, it is not a cycle, its displayName follows.
  User: [managerRule, memberDisplayRule],
  // A group's name, shown as `display` in the groups that hold it.
  Group: [memberDisplayRule],
};
