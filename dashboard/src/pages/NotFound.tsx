import { Link } from 'react-router';
import { Empty, PageHeader } from '../components/ui';

export function NotFoundPage() {
  return (
    <>
      <PageHeader title="Not found" />
      <Empty title="There is no page here"><p>Go back to the <Link to="/">overview</Link>.</p></Empty>
    </>
  );
}
