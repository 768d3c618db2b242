/**
 * The runs table's grouping (a slice of the runs-table store): which param or tag groups the
 * runs (`params.<key>` / `tags.<key>`, in the address as `group=`), and which groups the user
 * folded. The experiment's charts read the same choice, so the table and the charts group alike.
 */
export interface GroupingSlice {
  groupBy: string | null
  /** Keys of the groups whose runs the table hides. */
  collapsedGroups: string[]
  setGroupBy: (groupBy: string | null) => void
  toggleGroupCollapsed: (key: string) => void
}

/** `onGroupByChange` puts the new choice in the address (the store's publish); `set` and `get` are the store's. */
export const createGroupingSlice =
  (onGroupByChange: () => void) =>
  (set: (patch: Partial<GroupingSlice>) => void, get: () => GroupingSlice): GroupingSlice => ({
    groupBy: null,
    collapsedGroups: [],
    setGroupBy: (groupBy) => {
      if (groupBy === get().groupBy) return
      set({ groupBy, collapsedGroups: [] })
      onGroupByChange()
    },
    toggleGroupCollapsed: (key) => {
      const collapsed = get().collapsedGroups
      set({ collapsedGroups: collapsed.includes(key) ? collapsed.filter((candidate) => candidate !== key) : [...collapsed, key] })
    }
  })
