import { z } from 'zod';

export const Category = z
  .object({
    key: z.string(),
    description: z.string().nullable(),
    required: z.boolean().meta({ description: 'Users cannot opt out of a required category' }),
    built_in: z.boolean(),
  })
  .meta({ id: 'Category' });
export type Category = z.infer<typeof Category>;

export const PutCategoryBody = z
  .object({ description: z.string().max(500).optional(), required: z.boolean().default(false) })
  .strict()
  .meta({ id: 'PutCategory' });
export type PutCategoryBody = z.infer<typeof PutCategoryBody>;

export const CategoryList = z.object({ data: z.array(Category) }).meta({ id: 'CategoryList' });
